"""Test-wide settings: offline, single-threaded, no telemetry (see Makefile for why)."""

import os

for _key, _value in {
    "OMP_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "KEDRO_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "MPLBACKEND": "Agg",
}.items():
    os.environ.setdefault(_key, _value)

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from mlflow_store import MlflowStore, changes, footprint, redirected  # noqa: E402

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RAW_DATA = PROJECT_ROOT / "data" / "01_raw"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def raw_data() -> Path:
    return RAW_DATA


@pytest.fixture(scope="session")
def mlflow_store(tmp_path_factory):
    """The one MLflow store of the test session (tests/mlflow_store.py says why it is needed).

    Every Kedro session's kedro-mlflow setup tracks here unless its mlflow.yml names a store under pytest's
    tmp folder (a test that reads its own runs back); the experiments kedro-mlflow creates keep their
    artifacts here too (mlflow's default for a sqlite store is ``./mlruns`` of the working directory).
    When the session ends, it fails if the repository's (or the working directory's) mlflow.db, mlruns/ or
    mlartifacts/ changed.
    """
    from kedro_mlflow.config.kedro_mlflow_config import KedroMlflowConfig

    store = MlflowStore(folder=tmp_path_factory.mktemp("mlflow"), basetemp=tmp_path_factory.getbasetemp())
    setup = KedroMlflowConfig.setup

    def setup_in_tmp(config, context):
        server = config.server
        uri = redirected(server.mlflow_tracking_uri, context.project_path, store)
        if uri != server.mlflow_tracking_uri:
            server.mlflow_tracking_uri, server.mlflow_registry_uri = uri, None
        experiment = config.tracking.experiment.create_experiment_kwargs
        if experiment.artifact_location is None and not uri.startswith("file:"):
            experiment.artifact_location = store.artifacts.as_uri()
        setup(config, context)

    watched = {PROJECT_ROOT, Path.cwd().resolve()}
    before = {folder: footprint(folder) for folder in watched}
    patch = pytest.MonkeyPatch()
    patch.setattr(KedroMlflowConfig, "setup", setup_in_tmp)
    yield store
    patch.undo()
    touched = {str(folder): changes(before[folder], footprint(folder)) for folder in watched}
    touched = {folder: paths for folder, paths in touched.items() if paths}
    assert not touched, (
        f"MLflow files outside the tests' tmp store changed during the test session: {touched}. A test tracked "
        "into the project's store (see tests/mlflow_store.py), or a `kedro run` ran in the repository meanwhile."
    )


@pytest.fixture(autouse=True)
def mlflow_tracking_in_tmp(mlflow_store, monkeypatch):
    """Plain ``mlflow`` calls of every test track to the session's tmp store (mlflow's default otherwise:
    ``sqlite:///mlflow.db`` in the working directory); set again for each test, as a test that calls
    ``mlflow.set_tracking_uri(None)`` also clears the variable."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_store.uri)
    return mlflow_store


@pytest.fixture
def restore_mlflow_state(monkeypatch):
    """Puts back the process-wide MLflow state a Kedro session with kedro-mlflow changes (its environment
    variables, the active experiment, the tracking URI), so the tests that follow see none of it."""
    import mlflow.tracking.fluent

    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID", "MLFLOW_REGISTRY_URI"):
        value = os.environ.get(key)
        monkeypatch.setenv(key, "recorded")  # registers the key for restoring at teardown ...
        if value is None:
            monkeypatch.delenv(key)  # ... as unset
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", mlflow.tracking.fluent._active_experiment_id)
    yield
    mlflow.set_tracking_uri(None)
