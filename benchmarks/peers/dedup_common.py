"""The arguments and result of every de-duplication peer script (standard library only).

The benchmark (``benchmarks/dedup_scaling.py``) writes the pool to a JSON file (a list of strings,
earlier rows first) and runs each script once per repetition in a fresh process; the script
de-duplicates the whole pool with the issue's settings (``--ngram`` word shingles, ``--num-perm``
permutations, Jaccard ``--threshold``), as that library's users call it, and prints one result
line (:func:`report`): the positions it drops, the timed window's wall and CPU seconds and the
process's peak RSS. Precision and recall are computed by the benchmark, against its own truth.
"""

from __future__ import annotations

import argparse
import re
import resource
from pathlib import Path

from protocol import Window, emit, read_strings


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--pool", type=Path, required=True, help="a JSON list of the pool's texts, in priority order")
    parser.add_argument("--ngram", type=int, default=5, help="word shingle size")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--threshold", type=float, default=0.7, help="the MinHash (Jaccard) threshold")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--work-dir", type=Path, required=True, help="an empty folder for the peer's own files")
    return parser.parse_args()


def load_pool(path: Path) -> list[str]:
    return read_strings(path, "strings (the pool)")


def rss_mb(field: str = "VmRSS") -> float:
    """This process's ``VmRSS`` (now) or ``VmHWM`` (peak) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """Peak RSS of this process or of the largest child it reaped (worker processes), in MB."""
    return max(rss_mb("VmHWM"), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


_WORD = re.compile(r"\w+")


def word_shingles(text: str, n: int) -> set[bytes]:
    """The set of ``n``-word shingles of the lower-cased ``\\w+`` words (the whole text if shorter)."""
    words = _WORD.findall(text.lower())
    return {" ".join(words[k : k + n]).encode("utf-8") for k in range(max(1, len(words) - n + 1))}


def report(
    runner: str, version: str, pool: list[str], keep: list[bool], window: Window, pool_rss_mb: float, **extra
) -> None:
    """Print the result line: the dropped positions, the window's wall and CPU seconds, peak RSS."""
    if len(keep) != len(pool):
        raise SystemExit(f"{runner}: decided {len(keep)} rows of a {len(pool)}-row pool")
    emit(
        status="ok",
        runner=runner,
        version=version,
        n=len(pool),
        dropped=[i for i, k in enumerate(keep) if not k],
        wall_s=window.wall_s,
        cpu_s=window.cpu_s,
        peak_rss_mb=peak_rss_mb(),
        pool_rss_mb=pool_rss_mb,
        **extra,
    )
