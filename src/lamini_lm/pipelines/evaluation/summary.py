"""One JSON-ready record per herd member (and for the judged reference outputs) for the herd report."""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from lamini_lm.herd import ModelSpec
from lamini_lm.pipelines.evaluation.hallucination import falseqa_rates, hallucination_counts
from lamini_lm.pipelines.evaluation.instructions import win_rate
from lamini_lm.pipelines.evaluation.judge import rating_summary
from lamini_lm.pipelines.evaluation.outcome import Status, frame_status, student_problem
from lamini_lm.pipelines.evaluation.paper_tables import check_references, paper_results, spec_references
from lamini_lm.pipelines.evaluation.params import ToxicityParams
from lamini_lm.pipelines.evaluation.toxicity import toxicity_summary

logger = logging.getLogger(__name__)

# The parts of a member's record besides its benchmarks, each a dict with a ``status``.
SECTIONS = ("user_ratings", "alpaca_eval", "lamini_hallucination", "falseqa", "toxicity", "fidelity", "training")


# ``role`` of a member's record: trained by the training pipeline, or a reference evaluated as it is.
TRAINED, REFERENCE = "trained", "reference"
NOT_TRAINED = "not trained (reference: evaluated as it is)"
NO_TRAINING_RECORD = "no training record (the checkpoint's metadata has no validation loss)"


def training_record(student: Any, model_spec: ModelSpec) -> dict[str, Any]:
    """A member's validation loss before and after training, from its checkpoint's metadata.

    Training writes the same numbers into the checkpoint (``student.json``) and into
    ``<member>.training_metrics``; the checkpoint's are read because they belong to the very weights
    evaluated, and a checkpoint that does not load is reported (its problem is the status) instead of
    stopping the herd, which a missing ``training_metrics`` file would. A reference was not trained.
    """
    if model_spec.reference:
        return {"status": NOT_TRAINED}
    problem = student_problem(student)
    if problem:
        return {"status": problem}
    metadata = getattr(student, "metadata", None) or {}
    before, after = metadata.get("validation_loss_before"), metadata.get("validation_loss_after")
    if before is None or after is None:
        return {"status": NO_TRAINING_RECORD}
    data = metadata.get("training_data") or {}
    hyperparameters = metadata.get("hyperparameters") or {}
    return {
        "status": Status.OK,
        "validation_loss_before": float(before),
        "validation_loss_after": float(after),
        "validation_rows": data.get("validation_rows"),
        "train_rows": data.get("train_rows"),
        "max_steps": hyperparameters.get("max_steps"),
        "trained_at": metadata.get("trained_at"),
    }


def describe_student(
    student: Any, model_spec: ModelSpec, paper_results_15_tasks: pd.DataFrame, *, member: str
) -> dict[str, Any]:
    """Name, family, parameter count, provenance, role (trained or reference), validation loss before and
    after training, and paper rows of herd member ``member`` (or why it failed to load). A paper row the
    15-task table does not hold is an error naming the member and the key."""
    references = check_references(member, spec_references(model_spec), paper_results(paper_results_15_tasks))
    problem = student_problem(student)
    info: dict[str, Any] = {
        "member": member,
        "role": REFERENCE if model_spec.reference else TRAINED,
        "family": model_spec.family,
        "size_class": model_spec.size_class,
        "base": model_spec.checkpoint or f"built from config ({model_spec.config['model_type']})",
        "tiny": bool(model_spec.config) and not model_spec.checkpoint,
        "reference": references["paper_reference"],
        "base_reference": references["paper_base_reference"],
        "training": training_record(student, model_spec),
    }
    if problem:
        logger.error("Evaluation of %s: %s", member, problem)
        return info | {"model": getattr(student, "name", None) or member, "status": problem, "num_parameters": None}
    return info | {
        "model": student.name,
        "family": student.family,
        "num_parameters": int(sum(p.numel() for p in student.model.parameters())),
        "status": Status.OK,
    }


def _ratings(frame: pd.DataFrame) -> dict[str, Any]:
    return rating_summary(frame.rename(columns={"rating": "label"}), frame_status(frame))


def summarise_model(
    info: dict[str, Any],
    ratings: pd.DataFrame,
    alpaca: pd.DataFrame,
    falseqa: pd.DataFrame,
    lamini_hallucination: pd.DataFrame,
    toxic: pd.DataFrame,
    fidelity_scores: pd.DataFrame,
    toxicity: ToxicityParams,
    *benchmark_results: dict[str, Any],
) -> dict[str, Any]:
    """Everything measured for one herd member, in one JSON-ready record for the herd report."""
    results = {r["task"]: r for r in benchmark_results}
    # The task file says whether a task is one of the paper's 15 (TruthfulQA is an extra); a result whose task
    # file could not be read (paper_task None) counts as a paper task that was not scored.
    paper_tasks = [t for t, r in results.items() if r.get("paper_task") is not False]
    scored = [results[t]["value"] for t in paper_tasks if results[t]["status"] == Status.OK]
    falseqa_status, toxicity_status, fidelity_status = map(frame_status, (falseqa, toxic, fidelity_scores))
    return info | {
        "benchmarks": results,
        "benchmark_average": float(sum(scored) / len(scored)) if scored else None,
        "benchmarks_scored": len(scored),
        "benchmarks_total": len(paper_tasks),
        "user_ratings": _ratings(ratings),
        "alpaca_eval": win_rate(alpaca),
        "falseqa": falseqa_rates(falseqa) | {"status": Status.JUDGED}
        if falseqa_status == Status.JUDGED
        else {"status": falseqa_status},
        "lamini_hallucination": hallucination_counts(lamini_hallucination),
        "toxicity": toxicity_summary(toxic, toxicity.threshold) | {"status": Status.OK}
        if toxicity_status == Status.OK
        else {"status": toxicity_status},
        "fidelity": {"status": Status.OK, "rougeL": float(fidelity_scores["rougeL"].mean()), "n": len(fidelity_scores)}
        if fidelity_status == Status.OK
        else {"status": fidelity_status},
    }


def summarise_references(user_ratings: pd.DataFrame, alpaca: pd.DataFrame) -> dict[str, Any]:
    """Judged reference rows: text-davinci-003 on user-oriented instructions, ChatGPT/Alpaca-7B on AlpacaEval."""
    summary: dict[str, Any] = {"text-davinci-003": {"user_ratings": _ratings(user_ratings)}}
    for generator, frame in alpaca.groupby("generator") if "generator" in alpaca.columns else []:
        summary.setdefault(generator, {})["alpaca_eval"] = win_rate(frame)
    return summary
