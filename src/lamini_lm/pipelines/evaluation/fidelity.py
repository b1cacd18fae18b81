"""Distillation fidelity: ROUGE-L of a student's greedy answers against the teacher's answers."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lamini_lm import metrics
from lamini_lm.pipelines.evaluation.outcome import (
    Status,
    answers_or_problem,
    failed_frame,
    student_problem,
    with_status,
)
from lamini_lm.pipelines.evaluation.params import FidelityParams, GenerationParams

COLUMNS = ["instruction", "response", "answer", "rougeL"]


def validation_pairs(lamini_dataset: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """The held-out (``split == "validation"``) instruction/response pairs, first ``limit``."""
    missing = [c for c in ("instruction", "response", "split") if c not in lamini_dataset.columns]
    if missing:
        raise ValueError(f"lamini_dataset: missing column(s) {missing} (needs instruction, response, split).")
    held_out = lamini_dataset[lamini_dataset["split"] == "validation"][["instruction", "response"]]
    if held_out.empty:
        raise ValueError("lamini_dataset has no rows with split == 'validation'.")
    return (held_out.head(limit) if limit else held_out).reset_index(drop=True)


def rouge_l(predictions: list[str], references: list[str]) -> list[float]:
    """ROUGE-L F1 (with stemming) of each prediction against its reference: the package's
    ``rouge_l_fidelity`` evaluate module (:mod:`lamini_lm.metrics`), loaded once per call."""
    rouge = metrics.load("rouge_l_fidelity")
    return rouge.compute(predictions=predictions, references=references, use_stemmer=True, use_aggregator=False)[
        "rougeL"
    ]


def measure_fidelity(
    student: Any, lamini_dataset: pd.DataFrame, fidelity: FidelityParams, generation: GenerationParams
) -> pd.DataFrame:
    """ROUGE-L of the student's greedy answers against the teacher's on the validation split."""
    problem = student_problem(student)
    if problem:
        return failed_frame(COLUMNS, problem)
    try:
        pairs = validation_pairs(lamini_dataset, fidelity.limit)
    except ValueError as err:
        return failed_frame(COLUMNS, Status.NOT_SCORED.because(err))
    answers, problem = answers_or_problem(student, pairs["instruction"].tolist(), generation, "fidelity")
    if problem:
        return failed_frame(COLUMNS, problem)
    return with_status(pairs.assign(answer=answers, rougeL=rouge_l(answers, pairs["response"].tolist())), Status.OK)
