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

PROJECT_ROOT = Path(__file__).resolve().parents[1]
RAW_DATA = PROJECT_ROOT / "data" / "01_raw"


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def raw_data() -> Path:
    return RAW_DATA


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
