"""The de-duplication peer scripts (benchmarks/peers/dedup_*.py) through the peer protocol.

Bare datasketch is a project dependency, so its script runs here for real; the others need the
peers' venv, and without it they must be reported as not installed, never skipped.
"""

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from peers import run_peer  # noqa: E402
from peers.protocol import NOT_INSTALLED  # noqa: E402

POOL = [
    "Write a short story about a dragon who learns to read books in a library.",
    "Explain how photosynthesis turns sunlight into chemical energy in plants.",
    "Write a short story about a dragon who learns to read books in a library.",  # exact repeat
    "Write a short story about a dragon who learns to read books in a big library.",  # near repeat
    "List three ways to save water at home during a dry summer.",
]


def pool_args(tmp_path: Path) -> list:
    pool = tmp_path / "pool.json"
    pool.write_text(json.dumps(POOL), encoding="utf-8")
    work = tmp_path / "work"
    work.mkdir()
    return ["--pool", pool, "--work-dir", work, "--num-perm", 128, "--threshold", 0.7, "--ngram", 5]


def test_bare_datasketch_drops_the_later_copy_and_reports_its_figures(tmp_path):
    row = run_peer(sys.executable, "dedup_datasketch.py", pool_args(tmp_path), timeout_s=120)
    assert row["status"] == "ok", row
    assert row["n"] == len(POOL)
    assert 2 in row["dropped"] and 0 not in row["dropped"] and 1 not in row["dropped"]
    assert row["wall_s"] > 0 and row["cpu_s"] > 0 and row["peak_rss_mb"] >= row["pool_rss_mb"] > 0
    assert row["bands_rows"] == [14, 9]


@pytest.mark.parametrize("name", ["dedup_distilabel.py", "dedup_text_dedup.py", "dedup_datatrove.py"])
def test_a_peer_without_its_venv_is_reported_as_not_installed(tmp_path, name):
    row = run_peer(tmp_path / "no-venv" / "bin" / "python", name, pool_args(tmp_path))
    assert row["status"] == NOT_INSTALLED


def test_a_peer_whose_library_is_missing_says_which(tmp_path):
    # The project's venv has no datatrove: the script's import fails and it reports that, status 0.
    pytest.importorskip("datasketch")
    if __import__("importlib").util.find_spec("datatrove") is not None:
        pytest.skip("datatrove is installed in this venv")
    row = run_peer(sys.executable, "dedup_datatrove.py", pool_args(tmp_path), timeout_s=120)
    assert row["status"] == NOT_INSTALLED
    assert "datatrove" in row["missing"]
