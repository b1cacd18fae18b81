"""Training is tracked like evaluation: flattened parameters, per-step curves in an MLflow child run,
a loss-curve figure per student, and a log without the Trainer's raw ``{'loss': ...}`` lines."""

from __future__ import annotations

import json

import pytest

from lamini_lm.pipelines.training import nodes, tracking
from lamini_lm.pipelines.training.curves import loss_curve_figure


def test_member_params_are_one_key_per_value():
    params = tracking.member_params(
        "tiny_t5",
        "seq2seq",
        "t5 built from config",
        {"learning_rate": 3e-3, "size_class": "tiny", "size_class_variant": None},
        {"seed": 42, "launcher_args": ["--nnodes", "2"]},
        {"model_type": "t5", "d_model": 64},
        {"train_rows": 240},
    )
    assert params["hp.learning_rate"] == "0.003" and params["hp.size_class_variant"] == "None"
    assert params["training.seed"] == "42" and params["training.launcher_args"] == '["--nnodes", "2"]'
    assert params["model.config.d_model"] == "64" and params["data.train_rows"] == "240"
    assert all(isinstance(v, str) for v in params.values())
    assert tracking.flatten({"a": {"b": {"c": 1}, "d": {}}}) == {"a.b.c": 1, "a.d": {}}


def test_loss_curve_shows_loss_learning_rate_and_validation_points():
    metrics = {
        "model": "tiny_t5",
        "loss_curve": [[5, 7.0], [10, 6.0], [15, 5.5]],
        "learning_rate_curve": [[5, 3e-3], [10, 2e-3], [15, 1e-3]],
        "validation_loss_before": 7.5,
        "validation_loss_after": 5.4,
        "global_step": 15,
    }
    figure = loss_curve_figure(metrics)
    loss_axes, rate_axes = figure.axes
    assert list(loss_axes.lines[0].get_ydata()) == [7.0, 6.0, 5.5]
    assert list(rate_axes.lines[0].get_ydata()) == [3e-3, 2e-3, 1e-3]
    assert [tuple(c.get_offsets()[0]) for c in loss_axes.collections] == [(0.0, 7.5), (15.0, 5.4)]
    assert "7.500 → 5.400" in loss_axes.get_title()
    empty = loss_curve_figure({"model": "x", "loss_curve": [], "validation_loss_before": 1.0, "global_step": 1})
    assert "no training step was logged" in empty.axes[0].get_title()


@pytest.fixture
def file_tracking(tmp_path, monkeypatch):
    """MLflow on a file store in ``tmp_path`` (the project's sqlite store is 10x slower to create)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(f"file://{tmp_path}/mlruns")
    yield mlflow.tracking.MlflowClient()
    while mlflow.active_run():
        mlflow.end_run()
    mlflow.set_tracking_uri(None)


def _train(lamini_rows, models, hyperparameters, training, rows=80, name="tiny_gpt2"):
    entry = models[name]
    train, validation = nodes.split_dataset(lamini_rows.head(rows), training, name=name)
    tokenizer = nodes.build_tokenizer(train, entry, name=name)
    tables = nodes.tokenize_dataset(train, validation, tokenizer, entry, hyperparameters, name=name)
    student = nodes.initialise_student(tokenizer, entry, training, name=name)
    return nodes.train_student(student, *tables, train, entry, hyperparameters, training, None, name=name)


def test_training_is_a_child_run_with_flat_params_and_per_step_curves(
    lamini_rows, models, hyperparameters, training, file_tracking, capfd
):
    import mlflow

    settings = training.model_copy(update={"logging_steps": 2})
    with mlflow.start_run(run_name="parent") as parent:
        student, metrics, figure = _train(lamini_rows, models, hyperparameters, settings)
        assert mlflow.active_run().info.run_id == parent.info.run_id  # the child run has ended
    child = file_tracking.get_run(metrics["mlflow_run_id"])
    assert child.info.run_name == "tiny_gpt2/training" and child.info.status == "FINISHED"
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert student.metadata["mlflow_run_id"] == child.info.run_id
    params = child.data.params
    assert params["hp.learning_rate"] == str(hyperparameters.learning_rate) and params["family"] == "causal"
    assert params["training.logging_steps"] == "2" and params["model.config.n_embd"] == "32"
    assert not any(v.startswith("{") for v in params.values())  # flattened, no dict strings
    losses = file_tracking.get_metric_history(child.info.run_id, "loss")
    steps = [m.step for m in losses]
    assert len(losses) == metrics["global_step"] // 2 and steps == sorted(steps) and steps[0] == 2
    assert [round(m.value, 4) for m in losses] == [loss for _, loss in metrics["loss_curve"]]
    assert len(file_tracking.get_metric_history(child.info.run_id, "learning_rate")) == len(losses)
    logged = child.data.metrics
    assert logged["validation_loss_after"] == metrics["validation_loss_after"] < logged["validation_loss_before"]
    assert logged["before_loss"] == metrics["validation_loss_before"]  # the Trainer's own evaluation record
    assert logged["useful_tokens_per_s"] > 0 and logged["train_runtime_s"] > 0
    artefacts = {a.path for a in file_tracking.list_artifacts(child.info.run_id)}
    assert {"tiny_gpt2_loss_curve.png", "training_metrics.json"} <= artefacts
    assert figure.axes[0].lines  # the same figure goes to data/08_reporting/training/
    assert not file_tracking.get_run(parent.info.run_id).data.metrics  # nothing leaked into the parent
    output = capfd.readouterr()
    assert "{'loss'" not in output.out + output.err and "'train_runtime'" not in output.out + output.err


def test_without_an_active_run_nothing_is_tracked(lamini_rows, models, hyperparameters, training, file_tracking):
    _, metrics, _ = _train(lamini_rows, models, hyperparameters, training, rows=30)
    assert metrics["mlflow_run_id"] is None
    assert file_tracking.search_experiments() == [] or not file_tracking.search_runs(
        [e.experiment_id for e in file_tracking.search_experiments()]
    )
    json.dumps(metrics)  # the metrics file stays plain JSON


def test_a_launched_rank_zero_reattaches_to_the_member_run(file_tracking):
    """Under torchrun / accelerate the node's child run is re-opened by id in rank 0 only."""
    import mlflow

    with mlflow.start_run(run_name="tiny_gpt2/training") as run:
        run_id = run.info.run_id
    uri = mlflow.get_tracking_uri()
    with tracking.attached(run_id, uri, is_main_process=False):
        assert mlflow.active_run() is None
    with tracking.attached(run_id, uri, is_main_process=True):
        assert mlflow.active_run().info.run_id == run_id
        mlflow.log_metric("loss", 1.5, step=3)
    assert mlflow.active_run() is None
    assert [(m.step, m.value) for m in file_tracking.get_metric_history(run_id, "loss")] == [(3, 1.5)]
    with tracking.attached(None, uri, is_main_process=True):  # not tracked: nothing opened
        assert mlflow.active_run() is None


def test_the_launched_job_carries_the_member_run(lamini_rows, models, hyperparameters, training):
    from pathlib import Path

    from lamini_lm.pipelines.training.launch import read_job, write_job
    from lamini_lm.pipelines.training.trainer import TrainingJob

    name, entry = "tiny_gpt2", models["tiny_gpt2"]
    train, validation = nodes.split_dataset(lamini_rows.head(40), training, name=name)
    tokenizer = nodes.build_tokenizer(train, entry, name=name)
    tables = nodes.tokenize_dataset(train, validation, tokenizer, entry, hyperparameters, name=name)
    student = nodes.initialise_student(tokenizer, entry, training, name=name)
    job = TrainingJob(
        name=name,
        family=student.family,
        model=student.model,
        tokenizer=tokenizer,
        train=tables[0],
        validation=tables[1],
        hyperparameters=hyperparameters,
        settings=training,
        work_dir=Path(training.work_dir_for(name)),
        tracking_run_id="0123abcd",
        tracking_uri="sqlite:///mlflow.db",
    )
    back = read_job(write_job(job))
    assert (back.tracking_run_id, back.tracking_uri) == ("0123abcd", "sqlite:///mlflow.db")
