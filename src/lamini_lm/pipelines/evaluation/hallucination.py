"""FalseQA: does a model accept a false premise (hallucinate), rebut it, or decline?

Both halves of FalseQA's minimal pairs are asked, so a model that refuses everything shows a high
wrong-refusal rate on the true-premise twins instead of looking good.
"""

from __future__ import annotations

import ast
from typing import Any

import pandas as pd

FALSEQA_COLUMNS = ("question", "answer", "label")


def falseqa_questions(frame: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """The first ``limit`` false-premise (label 1) and true-premise (label 0) questions."""
    missing = [c for c in FALSEQA_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"FalseQA data: missing column(s) {missing}; expected {list(FALSEQA_COLUMNS)}.")
    labels = pd.to_numeric(frame["label"], errors="coerce")
    bad = labels[~labels.isin([0, 1])]
    if len(bad):
        raise ValueError(f"FalseQA data, row {bad.index[0]}: label {frame['label'][bad.index[0]]!r} is not 0 or 1.")
    frame = frame.assign(label=labels.astype(int))
    halves = [
        frame[frame["label"] == value].head(limit) if limit else frame[frame["label"] == value] for value in (1, 0)
    ]
    chosen = pd.concat(halves)
    references = [_human_answers(cell, index) for index, cell in chosen["answer"].items()]
    return chosen[["question", "label"]].assign(human_answers=references).reset_index(drop=True)


def _human_answers(cell: Any, row: Any) -> list[str]:
    """FalseQA's ``answer`` cell: a Python-literal list of human answers (rebuttals for false premises),
    or a plain answer (most true-premise rows)."""
    if isinstance(cell, (list, tuple)):
        return [str(a) for a in cell]
    if pd.isna(cell):
        return []
    if not str(cell).lstrip().startswith("["):
        return [str(cell)]
    try:
        value = ast.literal_eval(str(cell))
    except (ValueError, SyntaxError) as err:
        raise ValueError(f"FalseQA data, row {row}: 'answer' looks like a list but does not parse ({err}).") from err
    return [str(a) for a in value] if isinstance(value, (list, tuple)) else [str(value)]


def falseqa_rates(judged: pd.DataFrame) -> dict[str, Any]:
    """Hallucination rate (ACCEPTS on false premises) and wrong-refusal rate (REBUTS/DECLINES on true ones)."""
    false_premise = judged[(judged["label"] == 1) & judged["verdict"].notna()]
    true_premise = judged[(judged["label"] == 0) & judged["verdict"].notna()]
    return {
        "hallucination_rate": float((false_premise["verdict"] == "ACCEPTS").mean()) if len(false_premise) else None,
        "rebuttal_rate": float((false_premise["verdict"] == "REBUTS").mean()) if len(false_premise) else None,
        "wrong_refusal_rate": float(true_premise["verdict"].isin(["REBUTS", "DECLINES"]).mean())
        if len(true_premise)
        else None,
        "n_false_premise": int(len(false_premise)),
        "n_true_premise": int(len(true_premise)),
    }
