"""The project as users drive it: a Kedro session run and kedro-viz, on a throwaway copy of the project."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lamini_lm import herd

pytestmark = pytest.mark.slow


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


def test_kedro_run_training_on_a_fresh_project_builds_its_data_and_trains_the_herd(project_copy):
    bootstrap_project(project_copy)
    small = {"training": {"max_train_rows": 128, "max_validation_rows": 32, "save_steps": 1000}}
    try:
        with KedroSession.create(project_path=project_copy, runtime_params=small) as session:
            session.run(pipeline_names=["training"])
    finally:
        herd.ACTIVE_HERD.reset()
        pipelines.configure("lamini_lm.pipeline_registry")

    dataset = pd.read_parquet(project_copy / "data/03_primary/lamini_dataset.parquet")
    assert {"lamini_sample", "alpaca"} <= set(dataset["instruction_source"])
    for member in ("tiny_t5", "tiny_gpt2"):
        metrics = json.loads((project_copy / f"data/08_reporting/training/{member}.json").read_text())
        assert metrics["validation_loss_after"] < metrics["validation_loss_before"], member
        assert (project_copy / f"data/06_models/{member}/student.json").is_file()


def test_kedro_viz_build_shows_every_pipeline_and_herd_member(project_copy):
    env = {**os.environ, "KEDRO_DISABLE_TELEMETRY": "1"}
    kedro = Path(sys.executable).with_name("kedro")
    done = subprocess.run(
        [str(kedro), "viz", "build"],
        check=False,
        cwd=project_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    main = json.loads((project_copy / "build/api/main").read_text())
    names = {p["id"] for p in main["pipelines"]}
    assert {"instruction_generation", "distillation", "training", "evaluation"} <= names
    node_names = {n["name"] for n in main["nodes"]}
    assert {"tiny_t5", "tiny_gpt2"} <= node_names  # namespaces show as collapsible groups
