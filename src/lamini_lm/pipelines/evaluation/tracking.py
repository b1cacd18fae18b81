"""MLflow: kedro-mlflow opens one parent run per ``kedro run``; here each student gets a child run
with its parameters, metrics and a figure of its benchmark scores."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from lamini_lm.pipelines.evaluation.figures import student_figure
from lamini_lm.pipelines.evaluation.outcome import Status
from lamini_lm.pipelines.evaluation.params import TrackingParams
from lamini_lm.pipelines.evaluation.summary import SECTIONS

logger = logging.getLogger(__name__)


def _metric_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", name)


def student_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Every numeric result of one student, flattened to MLflow metric names (fractions, not %)."""
    metrics: dict[str, float] = {}
    for task, result in (summary.get("benchmarks") or {}).items():
        if result.get("status") == Status.OK and result.get("value") is not None:
            metrics[f"benchmark/{task}"] = float(result["value"])
    if summary.get("benchmark_average") is not None:
        metrics["benchmark/average"] = float(summary["benchmark_average"])
    for section in SECTIONS:
        for key, value in (summary.get(section) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(float(value)):
                metrics[f"{section}/{key}"] = float(value)
    return {_metric_name(k): v for k, v in metrics.items()}


def student_params(summary: dict[str, Any]) -> dict[str, str]:
    """Identity and provenance of one student, plus the status of each part of its evaluation."""
    params = {
        k: str(summary.get(k))
        for k in (
            "model",
            "member",
            "family",
            "num_parameters",
            "size_class",
            "base",
            "tiny",
            "reference",
            "base_reference",
            "status",
        )
    }
    for section in SECTIONS:
        params[f"{section}_status"] = str((summary.get(section) or {}).get("status"))[:250]
    return params


def log_students(figures: dict[str, Any], tracking: TrackingParams, *summaries: dict[str, Any]) -> dict[str, str]:
    """The herd figures on the active (kedro-mlflow) run and one nested run per student; returns model → run id.

    Without an active run (kedro-mlflow off, or a plain SequentialRunner) nothing is logged unless
    ``tracking.start_parent`` is true, which opens a parent run named ``tracking.run_name``.
    """
    if not tracking.enabled:
        return {}
    import mlflow

    parent = mlflow.active_run()
    opened = None
    if parent is None:
        if not tracking.start_parent:
            logger.info("No active MLflow run (kedro-mlflow off?): student child runs not logged.")
            return {}
        opened = parent = mlflow.start_run(run_name=tracking.run_name)
    run_ids: dict[str, str] = {}
    try:
        for name, figure in (figures or {}).items():
            mlflow.log_figure(figure, f"herd/{name}")
        for summary in summaries:
            name = str(summary.get("model"))
            with mlflow.start_run(run_name=name, nested=True) as child:
                mlflow.set_tags(
                    {
                        "lamini.model": name,
                        "lamini.family": str(summary.get("family")),
                        "lamini.tiny": str(bool(summary.get("tiny"))),
                        "lamini.stage": "evaluation",  # training runs: "training" (pipelines/training/tracking.py)
                    }
                )
                mlflow.log_params(student_params(summary))
                metrics = student_metrics(summary)
                if metrics:
                    mlflow.log_metrics(metrics)
                mlflow.log_figure(student_figure(summary), f"{name}_benchmarks.png")
                run_ids[name] = child.info.run_id
        logger.info("MLflow: parent run %s, student runs %s", parent.info.run_id, run_ids)
    finally:
        if opened is not None:
            mlflow.end_run()
    return run_ids
