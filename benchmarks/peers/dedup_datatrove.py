"""datatrove's MinHash de-duplication, as its example pipeline runs it (peers' venv).

The pool is written as JSONL (``id``, ``text``; outside the timed window), then its four stages run
on ``LocalPipelineExecutor``s as in its ``examples/minhash_deduplication.py``:
``JsonlReader >> MinhashDedupSignature``, ``MinhashDedupBuckets`` (one task per bucket),
``MinhashDedupCluster``, ``JsonlReader >> MinhashDedupFilter >> JsonlWriter``, with ``MinhashConfig(
n_grams=5, num_buckets=14, hashes_per_bucket=9)`` — 126 of 128 hashes, the bands x rows datasketch
picks for 0.7 (datatrove takes bands and rows, not a threshold). ``workers`` is every CPU. Its
English word tokenizer needs spaCy; without it, a whitespace tokenizer is passed in (its API takes
a ``WordTokenizer``), which on datatrove's simplified text (lower case, punctuation removed) splits
as spaCy's blank tokenizer does; the result line says which.
"""

from __future__ import annotations

import json
import os

from dedup_common import load_pool, parse_args, report, rss_mb
from protocol import Window, missing, versions

try:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
        MinhashDedupSignature,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter
    from datatrove.utils.word_tokenizers import WordTokenizer, load_word_tokenizer
except ImportError as exc:
    missing(exc)


class Whitespace(WordTokenizer):
    def word_tokenize(self, text: str) -> list[str]:
        return text.split()

    def sent_tokenize(self, text: str) -> list[str]:
        return [text]

    def span_tokenize(self, text: str) -> list[tuple[int, int]]:
        return [(0, len(text))]


def main() -> None:
    args = parse_args(__doc__)
    try:
        load_word_tokenizer("en").word_tokenize("A probe.")
        language, tokenizer = "en", "spaCy (its English default)"
    except ImportError:
        language, tokenizer = Whitespace(), "whitespace (spaCy not installed)"

    pool = load_pool(args.pool)
    before = rss_mb()
    BANDS, ROWS = 14, 9  # datasketch's MinHashLSH(threshold=0.7, num_perm=128)
    workers = os.cpu_count() or 1
    config = MinhashConfig(n_grams=args.ngram, num_buckets=BANDS, hashes_per_bucket=ROWS, seed=args.seed)
    work = args.work_dir
    (work / "in").mkdir(parents=True)
    with open(work / "in" / "pool.jsonl", "w", encoding="utf-8") as handle:
        for i, text in enumerate(pool):
            handle.write(json.dumps({"id": str(i), "text": text}) + "\n")
    stages = [
        (
            [
                JsonlReader(str(work / "in")),
                MinhashDedupSignature(output_folder=str(work / "sig"), config=config, language=language),
            ],
            1,
        ),
        (
            [MinhashDedupBuckets(input_folder=str(work / "sig"), output_folder=str(work / "buckets"), config=config)],
            BANDS,
        ),
        (
            [
                MinhashDedupCluster(
                    input_folder=str(work / "buckets"), output_folder=str(work / "remove"), config=config
                )
            ],
            1,
        ),
        (
            [
                JsonlReader(str(work / "in")),
                MinhashDedupFilter(input_folder=str(work / "remove")),
                JsonlWriter(str(work / "out"), compression=None),
            ],
            1,
        ),
    ]
    with Window() as window:
        for number, (pipeline, tasks) in enumerate(stages):
            LocalPipelineExecutor(
                pipeline=pipeline, tasks=tasks, workers=min(workers, tasks), logging_dir=str(work / f"logs{number}")
            ).run()
    kept: set[int] = set()
    for path in (work / "out").glob("*.jsonl"):
        with open(path, encoding="utf-8") as handle:
            kept.update(int(json.loads(line)["id"]) for line in handle)
    report(
        "datatrove MinHash (4 stages, LocalPipelineExecutor)",
        versions("datatrove"),
        pool,
        [i in kept for i in range(len(pool))],
        window,
        before,
        tokenizer=tokenizer,
        workers=workers,
    )


if __name__ == "__main__":  # its executor's worker processes re-import this file
    main()
