"""MLflow: each student's training is a child run of the kedro-mlflow run of ``kedro run``.

kedro-mlflow opens one parent run per ``kedro run``. The training node opens a nested run named
``<member>/training`` and logs the member's hyper-parameters there (flattened keys:
``hp.learning_rate``, ``model.config.d_model``...). During training the Trainer's own MLflow
integration (:class:`MemberRunCallback`, a ``transformers`` ``MLflowCallback``) logs every logged
step (``loss``, ``learning_rate``, ``grad_norm``, ``epoch``) and the validation losses
(``before_loss``, ``after_loss``); the node then logs the run's summary (train time, tokens/s) and the
loss curve. The checkpoint's path and its small files are added once the catalog has saved it
(:class:`lamini_lm.hooks.TrainingCheckpointHook`).

Without an active run (kedro-mlflow off, or a plain ``SequentialRunner``) nothing is logged. A
launched run (``torchrun`` / ``accelerate``) re-attaches rank 0 to the node's child run by id.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
from collections.abc import Iterator, Mapping
from typing import Any

logger = logging.getLogger(__name__)

RUN_TAG = "lamini.stage"
STAGE = "training"
SUMMARY_METRICS = (
    "validation_loss_before",
    "validation_loss_after",
    "train_loss",
    "train_runtime_s",
    "useful_tokens_per_s",
    "train_tokens",
    "padding_fraction",
    "global_step",
)


def flatten(mapping: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """Nested dicts as one level of ``a.b.c`` keys (lists and scalars stay values)."""
    flat: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{sep}{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            flat.update(flatten(value, name, sep))
        else:
            flat[name] = value
    return flat


def as_param(value: Any) -> str:
    """An MLflow parameter value: JSON for lists and dicts (comparable text), ``str`` otherwise."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str)
    return str(value)


def member_params(
    name: str,
    family: str,
    base_model: str,
    hyperparameters: Mapping[str, Any],
    settings: Mapping[str, Any],
    model_config: Mapping[str, Any] | None,
    data: Mapping[str, Any],
) -> dict[str, str]:
    """The child run's parameters: one key per value, so runs compare column by column."""
    params = {
        "model": name,
        "family": family,
        "base_model": base_model,
        **flatten(hyperparameters, "hp"),
        **flatten(settings, "training"),
        **flatten(model_config or {}, "model.config"),
        **flatten(data, "data"),
    }
    return {key: as_param(value) for key, value in params.items()}


def open_member_run(name: str, enabled: bool) -> Any | None:
    """A nested MLflow run for ``name``'s training under the active run, or None (nothing to log into)."""
    if not enabled:
        return None
    import mlflow

    if mlflow.active_run() is None:
        logger.info("Model '%s': no active MLflow run (kedro-mlflow off?); training not tracked.", name)
        return None
    run = mlflow.start_run(run_name=f"{name}/{STAGE}", nested=True)
    mlflow.set_tags({"lamini.model": name, RUN_TAG: STAGE})
    return run


@contextlib.contextmanager
def member_run(name: str, enabled: bool) -> Iterator[Any | None]:
    """:func:`open_member_run` as a context: the child run ends (FAILED on an error) on leaving."""
    run = open_member_run(name, enabled)
    if run is None:
        yield None
        return
    import mlflow

    try:
        yield run
    except BaseException:
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run()


def log_params(params: Mapping[str, str]) -> None:
    """``params`` on the active run, in MLflow's batches of 100."""
    import mlflow

    items = list(params.items())
    for start in range(0, len(items), 100):
        mlflow.log_params(dict(items[start : start + 100]))


def log_summary(metrics: Mapping[str, Any], figure: Any, name: str) -> None:
    """The run's summary metrics, the loss-curve figure and the metrics file on the active run."""
    import mlflow

    summary = {
        key: float(metrics[key])
        for key in SUMMARY_METRICS
        if isinstance(metrics.get(key), (int, float)) and not math.isnan(float(metrics[key]))
    }
    mlflow.log_metrics(summary)
    mlflow.log_figure(figure, f"{name}_loss_curve.png")
    mlflow.log_dict(dict(metrics), "training_metrics.json")


@contextlib.contextmanager
def attached(run_id: str | None, tracking_uri: str | None, is_main_process: bool) -> Iterator[None]:
    """In a launched process: rank 0 logs into the node's child run ``run_id`` for the whole fit.

    In the node's own process the child run is already active, and nothing changes.
    """
    if run_id is None or not is_main_process:
        yield
        return
    import mlflow

    if mlflow.active_run() is not None:
        yield
        return
    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    with mlflow.start_run(run_id=run_id):
        yield


def member_run_callback() -> Any:
    """A :class:`MemberRunCallback` (transformers is imported only when training runs)."""
    from transformers.integrations import MLflowCallback

    class MemberRunCallback(MLflowCallback):
        """The Trainer's MLflow integration, logging into the member's child run.

        ``MLflowCallback.setup`` would log every ``TrainingArguments`` field and the model config
        (hundreds of parameters, dicts as strings) and, under an active parent run, log into the
        parent or open and close a nested run of its own around ``train()`` only, so the validation
        loss after training would land in the parent. Here the node has opened the child run and
        logged the member's parameters; the callback only logs each step's metrics into it
        (``on_log``, unchanged), synchronously, and never ends the run.
        """

        def setup(self, args, state, model):
            self._log_artifacts = False
            self._async_log = False
            self._auto_end_run = False
            self._initialized = True

    return MemberRunCallback()
