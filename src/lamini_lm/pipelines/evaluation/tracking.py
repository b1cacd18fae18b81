"""MLflow: kedro-mlflow opens one parent run per ``kedro run``; here each student gets a child run
with its parameters, metrics and a figure of its benchmark scores."""

from __future__ import annotations

import logging
import math
import re
from typing import Any

logger = logging.getLogger(__name__)


def _metric_name(name: str) -> str:
    return re.sub(r"[^0-9A-Za-z_\-./ ]", "_", name)


def student_metrics(summary: dict[str, Any]) -> dict[str, float]:
    """Every numeric result of one student, flattened to MLflow metric names (fractions, not %)."""
    metrics: dict[str, float] = {}
    for task, result in (summary.get("benchmarks") or {}).items():
        if result.get("status") == "ok" and result.get("value") is not None:
            metrics[f"benchmark/{task}"] = float(result["value"])
    if summary.get("benchmark_average") is not None:
        metrics["benchmark/average"] = float(summary["benchmark_average"])
    for section in ("user_ratings", "alpaca_eval", "falseqa", "toxicity", "fidelity"):
        for key, value in (summary.get(section) or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(float(value)):
                metrics[f"{section}/{key}"] = float(value)
    return {_metric_name(k): v for k, v in metrics.items()}


def student_params(summary: dict[str, Any]) -> dict[str, str]:
    """Identity and provenance of one student, plus the status of each part of its evaluation."""
    params = {
        k: str(summary.get(k)) for k in ("model", "family", "num_parameters", "size_class", "base", "tiny", "status")
    }
    for section in ("user_ratings", "alpaca_eval", "falseqa", "toxicity", "fidelity"):
        params[f"{section}_status"] = str((summary.get(section) or {}).get("status"))[:250]
    return params


def student_figure(summary: dict[str, Any]):
    """Bar chart of one student's benchmark scores (status written where there is no score)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    results = summary.get("benchmarks") or {}
    tasks = sorted(results)
    fig, ax = plt.subplots(figsize=(7, 3))
    values = [(results[t]["value"] or 0) * 100 if results[t].get("status") == "ok" else 0 for t in tasks]
    ax.bar(tasks, values)
    for x, task in enumerate(tasks):
        if results[task].get("status") != "ok":
            ax.text(x, 1, results[task].get("status"), rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("score (%)")
    ax.set_title(f"{summary.get('model')}: zero-shot benchmarks")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    return fig


def log_students(figures: dict[str, Any], settings: dict[str, Any], *summaries: dict[str, Any]) -> dict[str, str]:
    """The herd figures on the active (kedro-mlflow) run and one nested run per student; returns model → run id.

    Without an active run (tracking disabled, or a plain SequentialRunner) nothing is logged unless
    ``settings["start_parent"]`` is true, which opens a parent run named ``settings["run_name"]``.
    """
    if not settings.get("enabled", True):
        return {}
    import matplotlib.pyplot as plt
    import mlflow

    parent = mlflow.active_run()
    opened = None
    if parent is None:
        if not settings.get("start_parent", False):
            logger.info("No active MLflow run (kedro-mlflow off?): student child runs not logged.")
            return {}
        opened = parent = mlflow.start_run(run_name=settings.get("run_name", "evaluation"))
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
                    }
                )
                mlflow.log_params(student_params(summary))
                metrics = student_metrics(summary)
                if metrics:
                    mlflow.log_metrics(metrics)
                figure = student_figure(summary)
                mlflow.log_figure(figure, f"{name}_benchmarks.png")
                plt.close(figure)
                run_ids[name] = child.info.run_id
        logger.info("MLflow: parent run %s, student runs %s", parent.info.run_id, run_ids)
    finally:
        if opened is not None:
            mlflow.end_run()
    return run_ids
