"""Near-duplicate removal at scale: ours against the MinHash de-duplicators users would pick instead.

Builds instruction pools of 100K and 1M from the real pools in data/01_raw (Self-Instruct seeds,
Alpaca, P3 prompts, LaMini-instruction and AlpacaEval instructions) by realistic perturbation:
paraphrase-like light edits of earlier items (true near-duplicates), and new instructions made by
re-targeting an instruction at a Wikipedia category or splicing two. The first 5,000 rows of every
pool are the same (the pool grows by appending), and on them the truth is Self-Instruct's
criterion over every pair: ROUGE-L F > 0.7 with rouge-score's tokenizer and float arithmetic (the
LCS of all 12.5M pairs by rapidfuzz's ``cdist``; scores checked against rouge-score itself on
sampled pairs). Pairs scored exactly 0.7 are counted as rouge-score decides them.

Methods, each run on the whole pool in a fresh process, interleaved, ``--repeats`` times:
- ``ours``: ``lamini_lm.pipelines.instruction_generation.dedup.deduplicate`` (exact, MinHash LSH
  candidates, ROUGE-L > 0.7 confirmation) with conf/base's settings;
- ``datasketch``: bare datasketch, ``MinHash.bulk`` over 5-gram word shingles, 128 permutations,
  ``MinHashLSH(threshold=0.7)``, a row dropped if its query finds an inserted row;
- ``distilabel``: its ``MinHashDedup`` step (threshold 0.7, 128 permutations, its default word
  tokenizer), called as a step (``load``/``process``);
- ``text-dedup``: ``python -m text_dedup.minhash`` on the pool saved as a local dataset (5-grams,
  128 permutations, threshold 0.7);
- ``datatrove``: its four MinHash stages on a ``LocalPipelineExecutor`` (5-grams, 128 hashes as
  the bands x rows datasketch would pick for 0.7), reading and writing JSONL.
A peer that is not installed is reported so (they cannot share the project's environment: see
docs/benchmarks/instruction_generation.md). Reported per method: wall time and CPU time (median and
range), peak RSS (the process and its children, pool included), and on the 5K prefix of the same
run: recall (true pairs not both kept), precision (dropped rows that have a ROUGE-L > 0.7 partner
in the pool) and the share of rows decided as the greedy pairwise filter decides them.

    .venv/bin/python benchmarks/dedup_scaling.py                          # 100K x 3 repetitions
    .venv/bin/python benchmarks/dedup_scaling.py --sizes 1000000 --repeats 1   # 1M once (minutes)
    .venv/bin/python benchmarks/dedup_scaling.py --methods ours --jaccard-floor 0.35   # override conf/base

Targets (issue 15): faster than bare datasketch at recall >= 0.99; 1M in <= 3 minutes.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata
import importlib.util
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "01_raw"
sys.path.insert(0, str(ROOT / "src"))

from lamini_lm.datasets.json_records import read_json_records  # noqa: E402
from lamini_lm.pipelines.instruction_generation import dedup  # noqa: E402

SYNONYMS = {
    "give": ["provide", "list", "offer"],
    "write": ["compose", "create", "draft"],
    "explain": ["describe", "clarify", "outline"],
    "describe": ["explain", "characterize"],
    "list": ["name", "give", "enumerate"],
    "short": ["brief", "concise"],
    "generate": ["create", "produce"],
    "find": ["identify", "determine"],
    "create": ["make", "design", "write"],
    "what": ["which"],
    "tips": ["suggestions", "ideas"],
    "ways": ["methods", "approaches"],
    "good": ["great", "effective"],
    "following": ["given", "provided"],
    "sentence": ["phrase", "statement"],
    "story": ["tale", "narrative"],
    "important": ["essential", "key"],
    "help": ["assist", "support"],
    "summarize": ["summarise", "sum up"],
}
PREFIXES = ["Please ", "Can you ", "Could you ", "I need you to ", "Kindly ", "Now, "]
SUFFIXES = [
    " in detail.",
    " in one sentence.",
    " for a beginner.",
    " briefly.",
    " with examples.",
    " step by step.",
    " for a child.",
    " please.",
]
FRAMES = [
    "Write a short essay about {t}.",
    "What are the most important facts about {t}?",
    "Explain the history of {t} to a student.",
    "Create a quiz with three questions on {t}.",
    "Summarize the key ideas behind {t}.",
    "Give five interesting facts about {t}.",
    "Compare {t} with {u} in a short paragraph.",
    "Write a tweet about {t}.",
    "Describe how {t} influenced {u}.",
    "Generate a list of questions a journalist might ask about {t}.",
]


def load_bases() -> tuple[list[str], list[str]]:
    """Real instructions (~18K) and real topics (Wikipedia categories) to perturb."""
    from lamini_lm.pipelines.instruction_generation.nodes import MAINTENANCE_PATTERNS

    texts: list[str] = []
    texts += [row["instruction"] for row in read_json_records(RAW / "seeds/self_instruct_seed_tasks.jsonl")[0]]
    for row in read_json_records(RAW / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json")[0]:
        texts.append(row["instruction"] + (f' "{row["input"]}"' if row["input"] else ""))
    texts += [row["prompt"].strip() for row in read_json_records(RAW / "sources/p3/t0_train_sample.jsonl")[0]]
    lamini = read_json_records(RAW / "distilled/lamini/lamini_instruction_10k_fmengine.jsonl")[0]
    texts += [row["text"].split("\nResponse: ", 1)[0] for row in lamini]
    alpaca_eval = read_json_records(RAW / "distilled/alpaca_eval/gpt-3.5-turbo-0301_model_outputs.json")[0]
    texts += [row["instruction"] for row in alpaca_eval]
    pattern = re.compile("|".join(MAINTENANCE_PATTERNS), re.I)
    topics = [
        t.strip()
        for t in (RAW / "topics/wikipedia_categories_min200_pages.txt").read_text().splitlines()
        if t.strip() and not pattern.search(t)
    ]
    return [t for t in dict.fromkeys(texts) if t.strip()], topics


def light_edit(text: str, rng: random.Random) -> str:
    """A paraphrase-like edit: 1-3 of synonym swap, word drop, prefix/suffix, casing, punctuation."""
    words = text.split()
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.35 and words:
            i = rng.randrange(len(words))
            options = SYNONYMS.get(words[i].lower().strip(".,?!:"))
            if options:
                words[i] = rng.choice(options)
        elif op < 0.55 and len(words) > 4:
            del words[rng.randrange(len(words))]
        elif op < 0.7 and words:
            words[0] = rng.choice(PREFIXES).strip() + " " + words[0][:1].lower() + words[0][1:]
        elif op < 0.85 and words:
            words[-1] = words[-1].rstrip(".?!") + rng.choice(SUFFIXES)
        elif len(words) > 2:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def new_instruction(bases: list[str], topics: list[str], rng: random.Random) -> str:
    """A different instruction: a topic frame, a base re-targeted at a topic, or two bases spliced."""
    op = rng.random()
    if op < 0.5:
        frame = rng.choice(FRAMES).format(t=rng.choice(topics), u=rng.choice(topics))
        return frame if rng.random() < 0.5 else frame.rstrip(".?") + rng.choice(SUFFIXES)
    base = rng.choice(bases).split()
    if op < 0.75 and len(base) > 3:  # re-target: ~40% of the words become one or two topics
        span = max(1, int(len(base) * rng.uniform(0.3, 0.5)))
        start = rng.randrange(len(base) - span + 1)
        topic = rng.choice(topics).split() + (rng.choice(topics).split() if span > 4 else [])
        return " ".join(base[:start] + topic + base[start + span :])
    other = rng.choice(bases).split()
    return " ".join(base[: max(1, len(base) // 2)] + other[len(other) // 2 :])


def build_pool(n: int, seed: int) -> list[str]:
    """``n`` instructions: ~3% exact repeats and ~15% paraphrase-like edits of earlier items or of
    real instructions (near-duplicates), ~2% real instructions verbatim, the rest new ones derived
    from the real pools and topics (which are near-duplicates of each other only by chance)."""
    rng = random.Random(seed)
    bases, topics = load_bases()
    out: list[str] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.03 and out:
            out.append(rng.choice(out))
        elif r < 0.18:
            source = rng.choice(out) if out and rng.random() < 0.5 else rng.choice(bases)
            out.append(light_edit(source, rng))
        elif r < 0.20:
            out.append(rng.choice(bases))
        else:
            out.append(new_instruction(bases, topics, rng))
    return out


SUBSET = 5000
PEERS = {  # method -> (distribution whose presence and version count, importable module)
    "ours": ("lamini-lm", None),
    "datasketch": ("datasketch", "datasketch"),
    "distilabel": ("distilabel", "distilabel"),
    "text-dedup": ("text-dedup", "text_dedup"),
    "datatrove": ("datatrove", "datatrove"),
}
NOT_INSTALLED = "not installed (conflicts with the project's pins: see docs/benchmarks/instruction_generation.md)"


def peak_rss_mb() -> float:
    """Peak RSS of this process or of any child it waited for (text-dedup runs as one), in MB."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            own = int(line.split()[1])
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def word_shingles(text: str, n: int = 5) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[k : k + n]) for k in range(max(1, len(words) - n + 1))}


def lsh_bands_for(threshold: float, num_perm: int) -> tuple[int, int]:
    """The (bands, rows) datasketch's MinHashLSH picks for ``threshold``."""
    from datasketch import MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    return lsh.b, lsh.r


def conf_dedup() -> dict:
    """conf/base's ``instruction_generation.dedup`` block and seed: the settings the pipeline runs."""
    import yaml

    conf = ROOT / "conf" / "base"
    block = yaml.safe_load((conf / "parameters_instruction_generation.yml").read_text())["instruction_generation"]
    return block["dedup"] | {"seed": yaml.safe_load((conf / "globals.yml").read_text())["seed"]}


def run_ours(texts: list[str], args: argparse.Namespace) -> list[bool]:
    result = dedup.deduplicate(
        texts,
        lsh_threshold=args.lsh_threshold,
        num_perm=args.num_perm,
        rouge_threshold=0.7,
        seed=args.seed,
        false_negative_weight=args.false_negative_weight,
        bucket_window=args.bucket_window,
        jaccard_floor=args.jaccard_floor,
        progress=False,
    )
    return result["keep"].tolist()


def run_datasketch(texts: list[str], args: argparse.Namespace) -> list[bool]:
    from datasketch import MinHash, MinHashLSH

    minhashes = MinHash.bulk([[s.encode() for s in word_shingles(t)] for t in texts], num_perm=args.num_perm)
    lsh = MinHashLSH(threshold=0.7, num_perm=args.num_perm)
    keep = []
    for i, minhash in enumerate(minhashes):
        duplicate = bool(lsh.query(minhash))
        if not duplicate:
            lsh.insert(i, minhash)
        keep.append(not duplicate)
    return keep


def run_distilabel(texts: list[str], args: argparse.Namespace) -> list[bool]:
    from distilabel.steps import MinHashDedup

    step = MinHashDedup(threshold=0.7, num_perm=args.num_perm, storage="dict")
    step.load()
    rows = next(step.process([{"text": t} for t in texts]))
    step.unload()
    return [bool(row["keep_row_after_minhash_filtering"]) for row in rows]


def run_text_dedup(texts: list[str], args: argparse.Namespace) -> list[bool]:
    from datasets import Dataset, load_from_disk

    with tempfile.TemporaryDirectory() as tmp:
        Dataset.from_dict({"id": list(range(len(texts))), "text": texts}).save_to_disk(f"{tmp}/in")
        command = [sys.executable, "-m", "text_dedup.minhash", "--path", f"{tmp}/in", "--local"]
        command += ["--output", f"{tmp}/out", "--column", "text", "--ngram", "5", "--num_perm", str(args.num_perm)]
        command += ["--threshold", "0.7", "--seed", str(args.seed)]
        subprocess.run(command, check=True, capture_output=True, text=True)
        kept = set(load_from_disk(f"{tmp}/out")["id"])
    return [i in kept for i in range(len(texts))]


def run_datatrove(texts: list[str], args: argparse.Namespace) -> list[bool]:
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.dedup import MinhashDedupSignature
    from datatrove.pipeline.dedup.minhash import (
        MinhashConfig,
        MinhashDedupBuckets,
        MinhashDedupCluster,
        MinhashDedupFilter,
    )
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers.jsonl import JsonlWriter

    bands, rows = lsh_bands_for(0.7, args.num_perm)
    config = MinhashConfig(n_grams=5, num_buckets=bands, hashes_per_bucket=rows, seed=args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        Path(f"{tmp}/in").mkdir()
        with open(f"{tmp}/in/pool.jsonl", "w") as handle:
            for i, text in enumerate(texts):
                handle.write(json.dumps({"id": str(i), "text": text}) + "\n")
        stages = [
            ([JsonlReader(f"{tmp}/in"), MinhashDedupSignature(output_folder=f"{tmp}/sig", config=config)], 1),
            ([MinhashDedupBuckets(input_folder=f"{tmp}/sig", output_folder=f"{tmp}/buckets", config=config)], bands),
            ([MinhashDedupCluster(input_folder=f"{tmp}/buckets", output_folder=f"{tmp}/remove", config=config)], 1),
            (
                [JsonlReader(f"{tmp}/in"), MinhashDedupFilter(input_folder=f"{tmp}/remove"), JsonlWriter(f"{tmp}/out")],
                1,
            ),
        ]
        for number, (pipeline, tasks) in enumerate(stages):
            LocalPipelineExecutor(pipeline=pipeline, tasks=tasks, workers=1, logging_dir=f"{tmp}/logs{number}").run()
        kept = set()
        for path in Path(f"{tmp}/out").glob("*.jsonl*"):
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as handle:
                kept.update(int(json.loads(line)["id"]) for line in handle)
    return [i in kept for i in range(len(texts))]


RUNNERS = {
    "ours": run_ours,
    "datasketch": run_datasketch,
    "distilabel": run_distilabel,
    "text-dedup": run_text_dedup,
    "datatrove": run_datatrove,
}


def version_of(method: str) -> str | None:
    distribution, module = PEERS[method]
    if module is not None and importlib.util.find_spec(module) is None:
        return None
    try:
        return importlib.metadata.version(distribution) + (" (this tree)" if method == "ours" else "")
    except importlib.metadata.PackageNotFoundError:
        return "this tree" if method == "ours" else None


def run_child(method: str, n: int, args: argparse.Namespace) -> dict:
    texts = build_pool(n, args.seed)
    before = current_rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    keep = RUNNERS[method](texts, args)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "method": method,
        "n": n,
        "seconds": wall,
        "cpu_seconds": cpu + children.ru_utime + children.ru_stime,
        "peak_rss_mb": peak_rss_mb(),
        "pool_rss_mb": before,
        "dropped": keep.count(False),
        "keep_subset": keep[:SUBSET],
    }


def truth_on_subset(texts: list[str], args: argparse.Namespace) -> dict:
    """Every pair of the subset scored exactly: the F matrix (rouge-score's arithmetic), and checks."""
    import numpy as np
    from rapidfuzz.distance import LCSseq
    from rapidfuzz.process import cdist
    from rouge_score import rouge_scorer

    tokens = dedup.tokenise(texts)
    sequences = tokens.sequences()
    lengths = tokens.lengths.astype(np.int64)
    start = time.perf_counter()
    lcs = cdist(sequences, sequences, scorer=LCSseq.similarity, dtype=np.int32, workers=1).astype(np.int64)
    lcs_seconds = time.perf_counter() - start
    with np.errstate(divide="ignore", invalid="ignore"):
        precision, recall = lcs / lengths[None, :], lcs / lengths[:, None]
        f = np.nan_to_num(2 * precision * recall / (precision + recall))
    keys = [s if s else "\x00" + t.strip() for s, t in zip(sequences, texts)]
    same_text = np.zeros_like(f, dtype=bool)
    first: dict = {}
    for j, key in enumerate(keys):
        if not sequences[j]:
            i = first.setdefault(key, j)
            if i != j:
                same_text[i, j] = same_text[j, i] = True
    duplicate = (f > 0.7) | same_text
    np.fill_diagonal(duplicate, False)
    exact_seven_tenths = np.triu(20 * lcs == 7 * (lengths[:, None] + lengths[None, :]), k=1) & (lcs > 0)

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rng = random.Random(args.seed)
    upper = np.argwhere(np.triu(duplicate, k=1))
    sample = [tuple(upper[k]) for k in rng.sample(range(len(upper)), min(1000, len(upper)))]
    sample += [tuple(p) for p in np.argwhere(exact_seven_tenths)[:1000]]
    sample += [tuple(sorted(rng.sample(range(len(texts)), 2))) for _ in range(args.rouge_sample_pairs)]
    start = time.perf_counter()
    reference = [scorer.score(texts[i], texts[j])["rougeL"].fmeasure for i, j in sample]
    per_pair = (time.perf_counter() - start) / len(sample)
    difference = max(abs(r - f[i, j]) for r, (i, j) in zip(reference, sample))
    return {
        "f": f,
        "duplicate": duplicate,
        "sequences": sequences,
        "true_pairs": int(np.triu(duplicate, k=1).sum()),
        "exact_seven_tenths": int(exact_seven_tenths.sum()),
        "exact_seven_tenths_above": int((exact_seven_tenths & (f > 0.7)).sum()),
        "lcs_seconds": lcs_seconds,
        "rouge_score_per_pair_s": per_pair,
        "checked_pairs": len(sample),
        "max_difference": difference,
    }


def greedy_keep(duplicate) -> list[bool]:
    """Self-Instruct's sequential filter: drop j if it is a duplicate of a kept i < j."""
    import numpy as np

    keep = np.ones(len(duplicate), dtype=bool)
    for j in range(len(duplicate)):
        keep[j] = not duplicate[:j, j][keep[:j]].any()
    return keep.tolist()


def quality(keep: list[bool], truth: dict, pool: list[str]) -> dict:
    """Recall, precision and agreement with the greedy filter of ``keep`` on the subset."""
    import numpy as np
    from rapidfuzz.distance import LCSseq
    from rapidfuzz.process import cdist

    duplicate = truth["duplicate"]
    kept = np.array(keep)
    upper = np.triu(duplicate, k=1)
    left_together = int((upper & kept[:, None] & kept[None, :]).sum())
    dropped = np.flatnonzero(~kept)
    partnered = duplicate[dropped].any(axis=1)
    # A dropped row without a partner in the subset may still repeat a row further on in the pool.
    lonely = dropped[~partnered]
    if len(lonely) and len(pool) > len(keep):
        tokens = dedup.tokenise(pool)
        sequences, lengths = tokens.sequences(), tokens.lengths.astype(np.float64)
        lcs = cdist([sequences[i] for i in lonely], sequences, scorer=LCSseq.similarity, dtype=np.int32, workers=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            p, r = lcs / lengths[None, :], lcs / lengths[lonely][:, None]
            f = np.nan_to_num(2 * p * r / (p + r))
        f[np.arange(len(lonely)), lonely] = 0
        partnered[~partnered] = (f > 0.7).any(axis=1)
    greedy = greedy_keep(duplicate)
    return {
        "recall": 1 - left_together / truth["true_pairs"] if truth["true_pairs"] else 1.0,
        "left_together": left_together,
        "precision": float(partnered.mean()) if len(dropped) else 1.0,
        "dropped_subset": len(dropped),
        "same_as_greedy": float(np.mean(np.array(greedy) == kept)),
        "greedy_dropped": greedy.count(False),
    }


def child_command(method: str, n: int, args: argparse.Namespace) -> list[str]:
    command = [sys.executable, __file__, "--child", method, "--child-size", str(n)]
    for name in ("lsh_threshold", "num_perm", "seed", "bucket_window", "false_negative_weight", "jaccard_floor"):
        command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
    return command


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--methods", default=",".join(RUNNERS))
    conf = conf_dedup()
    parser.add_argument("--lsh-threshold", type=float, default=conf["lsh_threshold"])
    parser.add_argument("--num-perm", type=int, default=conf["num_perm"])
    parser.add_argument("--seed", type=int, default=conf["seed"])
    parser.add_argument("--bucket-window", type=int, default=conf["bucket_window"])
    parser.add_argument("--false-negative-weight", type=float, default=conf["false_negative_weight"])
    parser.add_argument(
        "--jaccard-floor", type=float, default=conf["jaccard_floor"], help="ours: skip candidates below this estimate"
    )
    parser.add_argument("--rouge-sample-pairs", type=int, default=3000, help="random pairs timed with rouge-score")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-size", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.child_size, args)))
        return

    methods = [m for m in args.methods.split(",") if m]
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}; Python {sys.version.split()[0]}")
    print(
        f"ours: LSH threshold {args.lsh_threshold}, {args.num_perm} permutations, bucket window "
        f"{args.bucket_window}, Jaccard floor {args.jaccard_floor}, seed {args.seed}, ROUGE-L > 0.7 confirms "
        "(defaults: conf/base)"
    )
    versions = {m: version_of(m) for m in methods}
    for method in methods:
        print(f"  {method}: {versions[method] or NOT_INSTALLED}")
    runnable = [m for m in methods if versions[m]]

    subset = build_pool(SUBSET, args.seed)
    truth = truth_on_subset(subset, args)
    print(
        f"\n== truth on the first {SUBSET:,} rows: every pair scored ({truth['lcs_seconds']:.1f} s for all LCS): "
        f"{truth['true_pairs']:,} pairs with ROUGE-L > 0.7 (rouge-score's float); {truth['exact_seven_tenths']:,} "
        f"pairs score exactly 0.7, of which rouge-score's float puts {truth['exact_seven_tenths_above']:,} above "
        f"0.7 (counted as duplicates) and the rest not; max |diff| vs rouge-score on {truth['checked_pairs']:,} "
        f"checked pairs {truth['max_difference']:.1e}; rouge-score costs {truth['rouge_score_per_pair_s'] * 1e6:.0f} "
        f"µs a pair (all {SUBSET * (SUBSET - 1) // 2:,} pairs: ~{truth['rouge_score_per_pair_s'] * SUBSET**2 / 2:,.0f} s)"
    )

    for n in [int(s) for s in args.sizes.split(",") if s]:
        pool = build_pool(n, args.seed)
        assert pool[:SUBSET] == subset
        rows: dict[str, list[dict]] = {m: [] for m in runnable}
        for repeat in range(args.repeats):
            for method in runnable:
                load = os.getloadavg()[0]
                done = subprocess.run(child_command(method, n, args), check=False, capture_output=True, text=True)
                if done.returncode:
                    print(f"n={n:,} {method}: failed ({done.stderr.strip().splitlines()[-1:]})")
                    continue
                row = json.loads(done.stdout.splitlines()[-1]) | {"load": load}
                rows[method].append(row)
                print(
                    f"  n={n:,} repeat {repeat + 1} {method}: {row['seconds']:.1f} s wall, {row['cpu_seconds']:.1f} s "
                    f"CPU, peak RSS {row['peak_rss_mb']:,.0f} MB, dropped {row['dropped']:,}, load {load:.1f}",
                    flush=True,
                )
        print(f"\n== n={n:,}: {args.repeats} repetition(s), interleaved; median (range)")
        header = "| method | version | wall s | CPU s | wall vs ours | peak RSS MB | dropped | recall | precision | same as greedy |"
        print(header)
        print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        ours_wall = statistics.median(r["seconds"] for r in rows["ours"]) if rows.get("ours") else None
        for method in methods:
            if method not in runnable:
                print(f"| {method} | {NOT_INSTALLED} | | | | | | | | |")
                continue
            if not rows[method]:
                print(f"| {method} | {versions[method]} | failed | | | | | | | |")
                continue
            got = rows[method]
            q = quality(got[0]["keep_subset"], truth, pool)
            wall = statistics.median(r["seconds"] for r in got)
            ratio = f"{wall / ours_wall:.2f}×" if ours_wall else "—"
            print(
                f"| {method} | {versions[method]} | {spread([r['seconds'] for r in got])} | "
                f"{spread([r['cpu_seconds'] for r in got])} | {ratio} | "
                f"{statistics.median(r['peak_rss_mb'] for r in got):,.0f} (pool {got[0]['pool_rss_mb']:,.0f}) | "
                f"{got[0]['dropped']:,} | **{q['recall']:.3f}** ({q['left_together']} left) | {q['precision']:.3f} | "
                f"{q['same_as_greedy']:.2%} |"
            )
        print(f"(greedy pairwise filter on the subset drops {greedy_keep(truth['duplicate']).count(False):,} rows)")


if __name__ == "__main__":
    main()
