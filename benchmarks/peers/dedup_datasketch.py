"""Bare datasketch, as its documentation shows it (peers' venv, or any python with datasketch).

``MinHash.bulk`` over each text's set of 5-word shingles (``--ngram``), 128 permutations, then one
``MinHashLSH(threshold=0.7)`` (datasketch picks 14 bands x 9 rows): a row is dropped if its query
finds an inserted row, else it is inserted — earlier rows win, as in ours.
"""

from __future__ import annotations

from dedup_common import load_pool, parse_args, report, rss_mb, word_shingles
from protocol import Window, missing, versions

args = parse_args(__doc__)
try:
    from datasketch import MinHash, MinHashLSH
except ImportError as exc:
    missing(exc)

pool = load_pool(args.pool)
before = rss_mb()
with Window() as window:
    minhashes = MinHash.bulk([word_shingles(t, args.ngram) for t in pool], num_perm=args.num_perm, seed=args.seed)
    lsh = MinHashLSH(threshold=args.threshold, num_perm=args.num_perm)
    keep = []
    for i, minhash in enumerate(minhashes):
        duplicate = bool(lsh.query(minhash))
        if not duplicate:
            lsh.insert(i, minhash)
        keep.append(not duplicate)
report(
    "datasketch MinHash.bulk + MinHashLSH",
    versions("datasketch", "numpy"),
    pool,
    keep,
    window,
    before,
    bands_rows=[lsh.b, lsh.r],
)
