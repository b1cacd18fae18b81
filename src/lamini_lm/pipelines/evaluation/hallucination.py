"""Hallucination: the paper's LaMini-Hallucination test, and FalseQA as an extra set.

**LaMini-Hallucination** (EACL §6, Table 5; questions in Table 17): 40 questions with a false or
unanswerable premise, 4 categories x 10. Every member answers them; the judge decides per answer
whether it HALLUCINATED or REJECTED (refused or corrected the premise); the count of hallucinations
per category is the paper's measure (lower is better, 10 the worst). The paper's judges were people;
ours is the LLM judge. An unparsable verdict is "not judged (unparsable)" and never counted.

**FalseQA** (extra, not in the paper): both halves of FalseQA's minimal pairs are asked, so a model
that refuses everything shows a high wrong-refusal rate on the true-premise twins instead of looking good.
"""

from __future__ import annotations

import ast
from typing import Any

import pandas as pd

from lamini_lm import metrics
from lamini_lm.pipelines.evaluation import judge
from lamini_lm.pipelines.evaluation.outcome import Status, answers_or_problem, failed_frame, frame_status, with_status
from lamini_lm.pipelines.evaluation.paper_tables import HALLUCINATION_CATEGORIES
from lamini_lm.pipelines.evaluation.params import (
    FalseQAParams,
    GenerationParams,
    JudgeParams,
    LaminiHallucinationParams,
)
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


# --------------------------------------------------------------------------- LaMini-Hallucination

HALLUCINATION_COLUMNS = ("id", "question", "category")
UNPARSABLE = Status.NOT_JUDGED.because("unparsable")


def lamini_hallucination_questions(frame: pd.DataFrame, per_category: int | None) -> pd.DataFrame:
    """``id, question, category``: the first ``per_category`` questions of each of the four categories."""
    missing = [c for c in HALLUCINATION_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"LaMini-Hallucination questions: missing column(s) {missing}; expected {list(HALLUCINATION_COLUMNS)}."
        )
    unknown = frame[~frame["category"].isin(HALLUCINATION_CATEGORIES)]
    if len(unknown):
        row = unknown.index[0]
        raise ValueError(
            f"LaMini-Hallucination questions, row {row}: category {frame['category'][row]!r} is not one of "
            f"{HALLUCINATION_CATEGORIES}."
        )
    chosen = frame.groupby("category", sort=False).head(per_category) if per_category else frame
    return chosen[list(HALLUCINATION_COLUMNS)].reset_index(drop=True)


def answer_lamini_hallucination(
    student: Any, questions: pd.DataFrame, params: LaminiHallucinationParams, generation: GenerationParams
) -> pd.DataFrame:
    """The student's answers to the LaMini-Hallucination questions (``Student.generate``: decoder-only
    students in the wrapper they were trained with)."""
    chosen = lamini_hallucination_questions(questions, params.per_category)
    answers, problem = answers_or_problem(student, chosen["question"].tolist(), generation, "LaMini-Hallucination")
    if problem:
        return failed_frame([*HALLUCINATION_COLUMNS, "answer"], problem)
    return with_status(chosen.assign(answer=answers), Status.OK)


def judge_lamini_hallucination(
    answers: pd.DataFrame, judge_params: JudgeParams, teacher: TeacherSettings
) -> pd.DataFrame:
    """Per answer: ``verdict`` HALLUCINATED / REJECTED (None where not judged), ``judgement`` (the verdict in
    words, or why there is none: "not judged (unparsable)", "not judged (<the teacher's error>)") and
    ``judge_model``; the frame's status is the judge's (``judged``, ``not judged (no live judge)``, ...)."""
    status = frame_status(answers)
    if status != Status.OK:
        return with_status(answers.assign(verdict=None, judgement=status, reason=None, judge_model=None), status)
    messages = [
        judge.hallucination_messages(q, c, a)
        for q, c, a in zip(answers["question"], answers["category"], answers["answer"])
    ]
    verdicts, status = judge.run_judge(
        messages, judge.parse_hallucination_verdict, "hallucination", teacher, judge_params
    )
    judgements = []
    for label, error in zip(verdicts["label"], verdicts["error"]):
        if not pd.isna(label):
            judgements.append(str(label).lower())
        elif status != Status.JUDGED:
            judgements.append(status)
        else:
            judgements.append(UNPARSABLE if error == "unparsed" else Status.NOT_JUDGED.because(error))
    out = answers.drop(columns=["status"]).reset_index(drop=True)
    return with_status(
        out.assign(
            verdict=verdicts["label"],
            judgement=judgements,
            reason=verdicts["reason"],
            judge_model=verdicts["judge_model"],
        ),
        status,
    )


def hallucination_counts(judged: pd.DataFrame) -> dict[str, Any]:
    """Hallucinations per category and in total, counted over judged answers only (JSON-ready, flat).

    ``hallucinated_<category>`` / ``judged_<category>``: hallucinated answers / judged answers;
    ``n_unparsable``: verdicts that never parsed (not counted either way); ``judge``: the model(s) that judged.
    """
    status = frame_status(judged)
    if status != Status.JUDGED:
        return {"status": status}
    counts = metrics.load("hallucination_count").compute(  # lamini_lm/metrics/hallucination_count
        verdicts=["" if pd.isna(v) else str(v) for v in judged["verdict"]],
        categories=judged["category"].astype(str).tolist(),
        category_order=list(HALLUCINATION_CATEGORIES),
    )
    counts = {"status": Status.JUDGED, **counts}
    counts.update(
        n_unparsable=int((judged["judgement"] == UNPARSABLE).sum()),
        judge=", ".join(sorted(judged["judge_model"].dropna().astype(str).unique())) or None,
    )
    return counts
