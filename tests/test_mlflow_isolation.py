"""Tests never track into the project's mlflow.db / mlruns (tests/mlflow_store.py, the conftest fixtures)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from mlflow_store import MlflowStore, changes, footprint, local_path, redirected

from lamini_lm import herd


def test_a_project_store_is_redirected_and_a_tmp_store_a_test_chose_is_kept(tmp_path, project_root):
    store = MlflowStore(folder=tmp_path / "store", basetemp=tmp_path)
    for uri in ("sqlite:///mlflow.db", f"sqlite:///{project_root}/mlflow.db", "mlruns", None, "http://localhost:5000"):
        assert redirected(uri, project_root, store) == store.uri, uri
    for uri in (f"file://{tmp_path}/mlruns", f"sqlite:///{tmp_path}/other.db"):
        assert redirected(uri, project_root, store) == uri
    assert local_path("sqlite:///mlflow.db", project_root) == (Path.cwd() / "mlflow.db").resolve()  # cwd, not project
    assert local_path("mlruns", project_root) == (project_root / "mlruns").resolve()


def test_the_footprint_sees_a_store_appear_and_change(tmp_path):
    before = footprint(tmp_path)
    (tmp_path / "mlruns" / "1").mkdir(parents=True)
    (tmp_path / "mlruns" / "1" / "meta.yaml").write_text("x")
    (tmp_path / "notes.txt").write_text("not mlflow")
    middle = footprint(tmp_path)
    assert changes(before, middle) == ["mlruns/1/meta.yaml"]
    (tmp_path / "mlflow.db").write_bytes(b"db")
    assert changes(middle, footprint(tmp_path)) == ["mlflow.db"]


def test_plain_mlflow_tracks_to_the_tmp_store(mlflow_tracking_in_tmp):
    import mlflow

    assert mlflow.get_tracking_uri() == mlflow_tracking_in_tmp.uri


@pytest.mark.slow  # a Kedro context on the project itself and a new sqlite store (~15 s here)
def test_a_kedro_session_on_the_project_tracks_under_tmp_and_leaves_its_mlflow_db_alone(
    project_root, mlflow_tracking_in_tmp, restore_mlflow_state
):
    import mlflow

    before = footprint(project_root)
    bootstrap_project(project_root)
    try:
        with KedroSession.create(project_path=project_root) as session:
            context = session.load_context()  # kedro-mlflow sets up tracking and creates the experiment here
            uri = context.mlflow.server.mlflow_tracking_uri
            assert uri == mlflow_tracking_in_tmp.uri and mlflow.get_tracking_uri() == uri
            experiment = mlflow.get_experiment_by_name(context.mlflow.tracking.experiment.name)
            artifacts = Path(experiment.artifact_location.removeprefix("file://"))
            assert artifacts.is_relative_to(mlflow_tracking_in_tmp.basetemp)
    finally:
        herd.ACTIVE_HERD.reset()
        pipelines.configure("lamini_lm.pipeline_registry")
    assert changes(before, footprint(project_root)) == []
    assert not (project_root / "mlflow.db").exists() or "mlflow.db" in before
