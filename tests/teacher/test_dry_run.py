"""``teacher.dry_run: true`` through the project's ``kedro run``: the projection is logged, nothing is
sent, the run stops cleanly after the first teacher step and no output is overwritten."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # a kedro run in a subprocess


@pytest.fixture
def project_copy(project_root, tmp_path) -> Path:
    """conf/, pyproject and the bundled raw data of the project in ``tmp_path`` (outputs land there)."""
    for name in ("pyproject.toml", ".kedro.yml"):
        shutil.copy(project_root / name, tmp_path / name)
    shutil.copytree(project_root / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    (tmp_path / "src").mkdir()  # the package itself is imported from the installed project
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "01_raw").symlink_to(project_root / "data" / "01_raw")
    return tmp_path


def test_a_dry_run_stops_cleanly_after_the_first_teacher_step_and_overwrites_nothing(project_copy, project_root):
    results = project_copy / "data/02_intermediate/instruction_generation/generation_results.parquet"
    results.parent.mkdir(parents=True)
    pd.DataFrame({"request_id": ["old"], "text": ["a good earlier answer"]}).to_parquet(results)
    before = results.read_bytes()
    with socket.socket() as probe:  # nothing listens there: a request sent would fail, not dry-run
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    params = f"teacher.dry_run=true,teacher.replay.serve=false,teacher.base_url=http://127.0.0.1:{port}/v1"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(project_root / "src"), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-m", "kedro", "run", "--pipelines=instruction_generation", f"--params={params}"],
        check=False,
        cwd=project_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-3000:]
    assert "dry run: nothing sent" in output and "request_generations_node projected" in output
    assert "prompt tokens" in output
    assert results.read_bytes() == before  # teacher_results untouched
    downstream = project_copy / "data/02_intermediate/instruction_generation/generated_candidates.parquet"
    assert not downstream.exists() and not (project_copy / "data/03_primary/instruction_pool.parquet").exists()
