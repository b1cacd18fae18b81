"""Distillation fidelity: ROUGE-L of a student's greedy answers against the teacher's answers."""

from __future__ import annotations

import pandas as pd


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
    """ROUGE-L F1 (with stemming) of each prediction against its reference."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=True)
    return [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references)]
