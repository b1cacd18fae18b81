"""`kedro run --pipelines=training` through a Kedro session, as a user runs it, tracked by kedro-mlflow
on a file store: the parent run's parameters are flattened, each student's training is a child run
with flattened hyper-parameters, per-step loss and learning rate, the validation losses, throughput,
its loss curve and its checkpoint; the experiment opens on MLflow's runs table."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from kedro.framework.project import pipelines, settings
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lamini_lm import herd
from lamini_lm.hooks import EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, ProjectMlflowHook, TrainingCheckpointHook

pytestmark = pytest.mark.slow

MEMBERS = ("tiny_t5", "tiny_gpt2")


@pytest.fixture
def tracked_project(project_root, tmp_path, monkeypatch, restore_mlflow_state):
    """A throwaway copy of the project whose conf/local tracks to a file store in ``tmp_path``."""

    for name in ("pyproject.toml", ".kedro.yml"):
        shutil.copy(project_root / name, tmp_path / name)
    shutil.copytree(project_root / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    store = tmp_path / "mlruns"
    mlflow_yml = yaml.safe_load((project_root / "conf" / "base" / "mlflow.yml").read_text())
    mlflow_yml["server"]["mlflow_tracking_uri"] = f"file://{store}"
    (tmp_path / "conf" / "local" / "mlflow.yml").write_text(yaml.safe_dump(mlflow_yml))
    (tmp_path / "src").mkdir()  # the package itself is imported from the installed project
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "01_raw").symlink_to(project_root / "data" / "01_raw")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    bootstrap_project(tmp_path)
    _register_tracking_hooks(monkeypatch)
    yield tmp_path, store
    herd.ACTIVE_HERD.reset()
    pipelines.configure("lamini_lm.pipeline_registry")


def _register_tracking_hooks(monkeypatch) -> None:
    """The project's MLflow hooks in place of kedro-mlflow's own, as settings.py registers them.

    Adds only what settings.HOOKS lacks, so the test runs the same before and after they are there.
    """
    hooks = tuple(settings.HOOKS)
    for hook_class in (ProjectMlflowHook, TrainingCheckpointHook):
        if not any(isinstance(h, hook_class) for h in hooks):
            hooks += (hook_class(),)
    disabled = tuple(sorted(set(settings.DISABLE_HOOKS_FOR_PLUGINS) | {"kedro_mlflow"}))
    for key, value in (("HOOKS", hooks), ("DISABLE_HOOKS_FOR_PLUGINS", disabled)):
        monkeypatch.setattr(settings, key, value)


def test_training_run_is_tracked_in_mlflow_child_runs(tracked_project):
    from mlflow.tracking import MlflowClient

    project, store = tracked_project
    small = {"training": {"max_train_rows": 96, "max_validation_rows": 16, "save_steps": 1000, "logging_steps": 2}}
    with KedroSession.create(project_path=project, runtime_params=small) as session:
        session.run(pipeline_names=["training"])
    import mlflow

    assert mlflow.active_run() is None, "the run must be closed when `kedro run` ends (a notebook runs again)"

    client = MlflowClient(tracking_uri=f"file://{store}")
    (experiment,) = [e for e in client.search_experiments() if e.name == "lamini_lm"]
    assert experiment.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND  # opens on the runs table
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    assert set(runs) == {"training", *(f"{m}/training" for m in MEMBERS)}
    parent = runs["training"]
    # kedro-mlflow's parameters of the parent, one key per value (not one string per typed block)
    assert parent.data.params["training.max_train_rows"] == "96"
    assert parent.data.params["models.tiny_t5.config.d_model"] == "64"
    assert "training" not in parent.data.params and "models.tiny_t5" not in parent.data.params

    for member in MEMBERS:
        child = runs[f"{member}/training"]
        run_id = child.info.run_id
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        params = child.data.params
        assert params["model"] == member and params["hp.learning_rate"] == "0.003"
        assert params["training.logging_steps"] == "2" and params["hp.size_class"] == "tiny"
        assert not any(value.startswith("{") for value in params.values())
        losses = client.get_metric_history(run_id, "loss")
        assert len(losses) >= 3 and [m.step for m in losses] == sorted(m.step for m in losses)
        assert len(client.get_metric_history(run_id, "learning_rate")) == len(losses)
        metrics = child.data.metrics
        assert metrics["validation_loss_after"] < metrics["validation_loss_before"]
        assert metrics["useful_tokens_per_s"] > 0 and metrics["train_runtime_s"] > 0
        artefacts = {a.path for a in client.list_artifacts(run_id)}
        assert {f"{member}_loss_curve.png", "training_metrics.json", "checkpoint"} <= artefacts
        assert {a.path for a in client.list_artifacts(run_id, "checkpoint")} >= {
            "checkpoint/student.json",
            "checkpoint/config.json",
        }
        checkpoint = Path(child.data.tags["lamini.checkpoint"])
        assert checkpoint == (project / "data" / "06_models" / member).resolve()
        assert (project / "data" / "08_reporting" / "training" / f"{member}_loss_curve.png").stat().st_size > 10_000
