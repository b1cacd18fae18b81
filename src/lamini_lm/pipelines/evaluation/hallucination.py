"""FalseQA: does a model accept a false premise (hallucinate), rebut it, or decline?

Both halves of FalseQA's minimal pairs are asked, so a model that refuses everything shows a high
wrong-refusal rate on the true-premise twins instead of looking good.
"""

from __future__ import annotations

import ast
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation import judge
from lamini_lm.pipelines.evaluation.outcome import Status, answers_or_problem, failed_frame, frame_status, with_status
from lamini_lm.pipelines.evaluation.params import FalseQAParams, GenerationParams, JudgeParams
from lamini_lm.teacher.config import TeacherSettings

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


def answer_falseqa(
    student: Any, falseqa: pd.DataFrame, falseqa_params: FalseQAParams, generation: GenerationParams
) -> pd.DataFrame:
    """The student's answers to false-premise questions and their true-premise twins."""
    questions = falseqa_questions(falseqa, falseqa_params.limit)
    answers, problem = answers_or_problem(student, questions["question"].tolist(), generation, "FalseQA")
    if problem:
        return failed_frame(["question", "label", "answer"], problem)
    return with_status(questions.assign(answer=answers), Status.OK)


def judge_falseqa(answers: pd.DataFrame, judge_params: JudgeParams, teacher: TeacherSettings) -> pd.DataFrame:
    """The judge's verdict on each answer's premise handling: ACCEPTS, REBUTS or DECLINES."""
    status = frame_status(answers)
    if status != Status.OK:
        return with_status(answers.assign(verdict=None, reason=None, error=None), status)
    references = answers["human_answers"] if "human_answers" in answers.columns else [None] * len(answers)
    messages = [
        judge.premise_messages(q, a, list(r) if r is not None else None)
        for q, a, r in zip(answers["question"], answers["answer"], references)
    ]
    verdicts, status = judge.run_judge(messages, judge.parse_verdict, "premise", teacher, judge_params)
    out = answers.drop(columns=["status"]).reset_index(drop=True)
    return with_status(
        out.assign(verdict=verdicts["label"], reason=verdicts["reason"], error=verdicts["error"]), status
    )
