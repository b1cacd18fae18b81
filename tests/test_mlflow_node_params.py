"""The project's kedro-mlflow hook logs a node's parameters as one batch, each key once per run."""

from __future__ import annotations

import pytest
from kedro.pipeline import Node

from lamini_lm.hooks import ProjectMlflowHook
from lamini_lm.pipelines.evaluation.params import JudgeParams


@pytest.fixture
def file_store(tmp_path, monkeypatch, restore_mlflow_state):
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)  # an earlier session's experiment is not in this store
    mlflow.set_tracking_uri(f"file://{tmp_path / 'mlruns'}")
    mlflow.set_experiment("node_parameters")
    with mlflow.start_run() as run:
        yield run.info.run_id


def _hook() -> ProjectMlflowHook:
    hook = ProjectMlflowHook()
    hook.flatten, hook.long_params_strategy = True, "tag"  # flattened as conf/base/mlflow.yml sets it
    return hook


def _node(name: str) -> Node:
    return Node(lambda *args: None, ["params:seed", "params:judge"], None, name=name)


def test_node_parameters_are_one_batch_and_each_key_is_logged_once(file_store, monkeypatch):
    import mlflow

    calls: list[str] = []
    monkeypatch.setattr(mlflow, "log_param", lambda *a, **k: calls.append("log_param"))
    batches: list[dict] = []
    log_params = mlflow.log_params
    monkeypatch.setattr(mlflow, "log_params", lambda params: (batches.append(dict(params)), log_params(params)))

    hook = _hook()
    judge = JudgeParams.model_validate(_judge_block())
    inputs = {"params:seed": 7, "params:judge": judge, "data": [1, 2]}
    hook.before_node_run(_node("a"), None, inputs, False)
    hook.before_node_run(_node("b"), None, inputs, False)  # same keys, same values: nothing to log

    assert calls == [], "no key may be logged with its own store round trip"
    assert len(batches) == 1 and batches[0]["seed"] == 7 and "judge.max_retries" in batches[0]
    logged = mlflow.get_run(file_store).data.params
    assert logged["seed"] == "7" and logged["judge.max_retries"] == str(judge.max_retries)
    assert "data" not in logged  # only params: inputs are parameters


def test_a_changed_value_is_logged_and_an_over_long_one_keeps_the_strategy(file_store):
    import mlflow

    hook = _hook()
    hook.before_node_run(_node("a"), None, {"params:seed": 7}, False)
    hook.before_node_run(_node("b"), None, {"params:long": "x" * 7000}, False)
    run = mlflow.get_run(file_store)
    assert run.data.params["seed"] == "7"
    assert "long" not in run.data.params and run.data.tags["long"] == "x" * 7000  # long_params_strategy: tag


def _judge_block() -> dict:
    from conf_params import conf_block

    return conf_block("evaluation")["judge"]
