"""`kedro run` as a user types it, in a fresh `git clone` of the project: no environment variables of the
Makefile's telemetry opt-out, and afterwards `git status` is clean (kedro-telemetry reads the committed
`.telemetry` consent and writes nothing into pyproject.toml); the log has progress bars and one line per
validation, no raw `{'loss': ...}` dicts from the Trainer and no library warnings a user cannot act on."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# A log line that is a warning: a logging record at WARNING, or a Python warning ("UserWarning: ...").
WARNING_LINE = re.compile(r"\bWARNING\b|\b\w*Warning: ")


def warning_lines(log: str) -> list[str]:
    """The lines of ``log`` that are warnings (how docs/training.md counts them)."""
    return [line for line in log.splitlines() if WARNING_LINE.search(line)]


def test_warning_lines_count_records_and_python_warnings():
    log = "\n".join(
        [
            "[12/02/26] WARNING  Model 'x': dropped 3 rows   nodes.py:160",
            "                    lines/x.py:271: UserWarning: One or more dataset",
            "                    INFO     Saving data to warnings_report",
        ]
    )
    assert len(warning_lines(log)) == 2


@pytest.fixture
def fresh_clone(project_root, tmp_path) -> Path:
    """``git clone`` of the project's committed state (what a new user gets)."""
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(project_root), str(clone)], check=True, timeout=120)
    return clone


def run_kedro(clone: Path, *args: str, drop_env: tuple[str, ...] = ()) -> str:
    """``kedro <args>`` in ``clone`` with the clone's own package; returns the log (stdout + stderr)."""
    env = {k: v for k, v in os.environ.items() if k not in drop_env}
    env["PYTHONPATH"] = str(clone / "src")
    env["COLUMNS"] = "200"  # rich's log width in a pipe: one record per line
    kedro = Path(sys.executable).with_name("kedro")
    done = subprocess.run(
        [str(kedro), *args], cwd=clone, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-4000:]
    return log


def test_kedro_run_in_a_fresh_clone_leaves_git_clean_and_the_log_quiet(fresh_clone):
    small = "training.max_train_rows=160,training.max_validation_rows=16,training.logging_steps=2"
    log = run_kedro(
        fresh_clone,
        "run",
        "--pipelines=training",
        f"--params={small}",
        drop_env=("KEDRO_DISABLE_TELEMETRY", "DO_NOT_TRACK"),  # as a user types it, without the Makefile
    )
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=fresh_clone, capture_output=True, text=True, check=True
    )
    assert status.stdout == "", status.stdout
    assert "conf/logging.yml" in log  # Kedro uses the project's logging config
    assert "validation loss after training" in log
    assert "{'loss'" not in log and "'train_runtime'" not in log
    warnings = warning_lines(log)
    assert not [line for line in warnings if "Warning: " in line], warnings  # no library Python warnings
    assert len(warnings) <= 5, warnings


# The full demo (conf/base) logs at most five warnings, each one actionable (docs/training.md, "A quiet log").
def test_the_demo_logs_at_most_five_warnings(fresh_clone):
    log = run_kedro(fresh_clone, "run", "--params=training.max_train_rows=160,training.max_validation_rows=16")
    assert "{'loss'" not in log
    warnings = warning_lines(log)
    assert not [line for line in warnings if "Warning: " in line], warnings
    assert len(warnings) <= 5, "\n".join(warnings)
