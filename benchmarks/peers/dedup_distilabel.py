"""distilabel's ``MinHashDedup`` step, as its users call it (peers' venv).

``MinHashDedup(threshold=0.7, num_perm=128, storage="dict")``, ``load()``, then ``process()`` on
the rows in its documented large batches (earlier batches win: the step keeps one LSH index
across them), ``keep_row_after_minhash_filtering`` read back. distilabel cannot shingle words into
5-grams: its ``tokenizer`` is ``"words"`` (the default: the *set* of nltk ``word_tokenize``
tokens) or ``"ngrams"`` (character n-grams). The default is used; when nltk (and its
``punkt_tab`` data, which an offline machine cannot download) is missing, the step's word
tokenizer is replaced after ``load()`` by the same set of regex word tokens (``\\w+`` and single
punctuation marks, which is what ``word_tokenize`` yields on these instructions up to contractions),
and the result line says so.
"""

from __future__ import annotations

import os
import re

from dedup_common import load_pool, parse_args, report, rss_mb
from protocol import Window, missing, versions

args = parse_args(__doc__)
os.environ.update(DISTILABEL_CACHE_DIR=str(args.work_dir), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
try:
    from distilabel.steps import MinHashDedup
except ImportError as exc:
    missing(exc)

BATCH = 50_000  # its docs: "Bigger batch sizes work better for this step"
pool = load_pool(args.pool)
before = rss_mb()
try:
    from nltk.tokenize import word_tokenize

    word_tokenize("A probe.")  # needs nltk's punkt_tab data too
    tokenizer, substitute = "words", None
except (ImportError, LookupError):
    _TOKEN = re.compile(r"\w+|[^\w\s]")
    # "ngrams" only so that load() does not import nltk; the tokenizer is replaced below.
    tokenizer, substitute = "ngrams", lambda texts: [{w.encode("utf-8") for w in _TOKEN.findall(t)} for t in texts]
step = MinHashDedup(
    threshold=args.threshold, num_perm=args.num_perm, seed=args.seed, storage="dict", tokenizer=tokenizer
)
step.load()
if substitute is not None:
    step._tokenizer = substitute
# distilabel 1.5.3's MinHashLSH subclass skips datasketch 2's __init__, which sets this (False for
# dict storage); without it every insert raises AttributeError.
patched = not hasattr(step._lsh, "_require_bytes_keys")
if patched:
    step._lsh._require_bytes_keys = False
with Window() as window:
    keep: list[bool] = []
    for start in range(0, len(pool), BATCH):
        rows = next(step.process([{"text": t} for t in pool[start : start + BATCH]]))
        keep.extend(bool(row["keep_row_after_minhash_filtering"]) for row in rows)
step.unload()
report(
    "distilabel MinHashDedup",
    versions("distilabel", "datasketch"),
    pool,
    keep,
    window,
    before,
    tokenizer="nltk word_tokenize (its default)" if substitute is None else "regex word tokens (nltk not installed)",
    bands_rows=[step._lsh.b, step._lsh.r],
    patched="_require_bytes_keys=False set on its MinHashLSH (distilabel 1.5.3 vs datasketch 2)" if patched else None,
)
