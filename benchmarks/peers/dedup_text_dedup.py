"""text-dedup's MinHash, as its users run it: its command line on a dataset saved to disk (peers' venv).

The pool is saved as a ``datasets`` dataset with an ``id`` column (outside the timed window), then
``python -m text_dedup.minhash --path IN --local --output OUT --column text --ngram 5 --num_perm
128 --threshold 0.7`` runs (its own ``num_proc``: every CPU; it picks bands x rows by datasketch's
rule) and the ids it keeps are read back. ``--min_length 1``: its default of 5 first *removes*
every text under 5 words, which is a length filter, not de-duplication (a third of the rows here).
The window is the command, start-up included (users run it as one).
"""

from __future__ import annotations

import os
import subprocess
import sys

from dedup_common import load_pool, parse_args, report, rss_mb
from protocol import Window, missing, versions

args = parse_args(__doc__)
os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", HF_DATASETS_CACHE=str(args.work_dir / "hf"))
try:
    import text_dedup.minhash  # noqa: F401 - the module its command line runs
    from datasets import Dataset, load_from_disk
except ImportError as exc:
    missing(exc)

pool = load_pool(args.pool)
before = rss_mb()
source, output = args.work_dir / "in", args.work_dir / "out"
Dataset.from_dict({"id": list(range(len(pool))), "text": pool}).save_to_disk(str(source))
command = [sys.executable, "-m", "text_dedup.minhash", "--path", str(source), "--local", "--output", str(output)]
command += ["--column", "text", "--ngram", str(args.ngram), "--num_perm", str(args.num_perm)]
command += ["--threshold", str(args.threshold), "--seed", str(args.seed), "--min_length", "1"]
command += ["--cache_dir", str(args.work_dir / "cache")]
with Window() as window:
    done = subprocess.run(command, check=False, capture_output=True, text=True, cwd=args.work_dir)
if done.returncode:
    raise SystemExit(f"text_dedup.minhash failed (exit {done.returncode}): {done.stderr[-2000:]}")
kept = set(load_from_disk(str(output))["id"])
report(
    "text-dedup minhash (CLI)",
    versions("text-dedup", "datasets"),
    pool,
    [i in kept for i in range(len(pool))],
    window,
    before,
    num_proc=os.cpu_count(),
)
