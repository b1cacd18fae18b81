"""Instruction following: Self-Instruct's user-oriented instructions rated A-D, and AlpacaEval's
pairwise preference against text-davinci-003 (students and recorded reference outputs alike)."""

from __future__ import annotations

import logging
import random
import re
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation import judge
from lamini_lm.pipelines.evaluation.outcome import Status, answers_or_problem, failed_frame, frame_status, with_status
from lamini_lm.pipelines.evaluation.params import AlpacaEvalParams, GenerationParams, JudgeParams, UserOrientedParams
from lamini_lm.prompting import fold_input
from lamini_lm.teacher.config import TeacherSettings

logger = logging.getLogger(__name__)


# --------------------------------------------------------------------------- user-oriented instructions

USER_ORIENTED_COLUMNS = ("id", "motivation_app", "instruction")


def excluded_kind(instruction: str, exclude: dict[str, list[str]]) -> str | None:
    """The first kind (of ``exclude``: kind → patterns) whose pattern ``instruction`` matches, or None."""
    for kind, patterns in exclude.items():
        if any(re.search(pattern, instruction, re.IGNORECASE) for pattern in patterns):
            return kind
    return None


def select_human_eval_subset(instructions: pd.DataFrame, user_oriented: UserOrientedParams, seed: int) -> pd.DataFrame:
    """The paper's human-evaluation subset of Self-Instruct's user-oriented instructions (EACL Appendix C).

    The published rule: drop every instruction of an excluded kind (NLI, sentiment, summarisation:
    recognised by ``user_oriented.exclude``'s patterns in the instruction text), keep at most
    ``max_per_app`` per ``motivation_app`` (drawn with ``seed`` where an app has more), and, if that
    leaves more than ``subset_size``, draw ``subset_size`` of them with ``seed``. Fewer is logged and kept.
    Which 114 the paper used is not published; the rows keep their order and their ``row`` in the file.
    """
    missing = [c for c in USER_ORIENTED_COLUMNS if c not in instructions.columns]
    if missing:
        raise ValueError(
            f"user-oriented instructions: missing column(s) {missing}; expected {list(USER_ORIENTED_COLUMNS)}."
        )
    frame = instructions.reset_index(drop=True).rename_axis("row").reset_index()
    kinds = frame["instruction"].astype(str).map(lambda text: excluded_kind(text, user_oriented.exclude))
    dropped = kinds.dropna()
    logger.info(
        "Human-evaluation subset: %d of %d instructions excluded by kind (%s).",
        len(dropped),
        len(frame),
        ", ".join(f"{kind}: {count}" for kind, count in dropped.value_counts().sort_index().items()) or "none",
    )
    rng = random.Random(seed)
    kept: list[int] = []
    for _, rows in frame[kinds.isna()].groupby("motivation_app", sort=False):
        rows_list = rows["row"].tolist()
        kept += (
            rows_list
            if len(rows_list) <= user_oriented.max_per_app
            else rng.sample(rows_list, user_oriented.max_per_app)
        )
    if len(kept) > user_oriented.subset_size:
        kept = rng.sample(sorted(kept), user_oriented.subset_size)
    elif len(kept) < user_oriented.subset_size:
        logger.warning(
            "Human-evaluation subset: the rule leaves %d instructions, fewer than subset_size=%d; all %d are used.",
            len(kept),
            user_oriented.subset_size,
            len(kept),
        )
    return frame[frame["row"].isin(kept)].reset_index(drop=True)


def user_instruction_prompts(instructions: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """``id, row, instruction`` from Self-Instruct's user-oriented set, the first instance's input folded in."""
    for column in ("id", "instruction"):
        if column not in instructions.columns:
            raise ValueError(f"user-oriented instructions: missing column '{column}'.")
    rows = instructions.head(limit) if limit else instructions
    texts = []
    for instruction, instances in zip(rows["instruction"], rows.get("instances", [None] * len(rows))):
        first = instances[0] if isinstance(instances, (list, tuple)) and len(instances) else {}
        texts.append(fold_input(instruction, (first or {}).get("input")))
    positions = rows["row"].tolist() if "row" in rows.columns else list(range(len(rows)))
    return pd.DataFrame({"id": rows["id"].tolist(), "row": positions, "instruction": texts})


def answer_user_instructions(
    student: Any, instructions: pd.DataFrame, user_oriented: UserOrientedParams, generation: GenerationParams
) -> pd.DataFrame:
    """The student's answers to the human-evaluation subset (``id, row, instruction, answer, status``)."""
    prompts = user_instruction_prompts(instructions, user_oriented.limit)
    answers, problem = answers_or_problem(
        student, prompts["instruction"].tolist(), generation, "user-oriented instructions"
    )
    if problem:
        return failed_frame(["id", "row", "instruction", "answer"], problem)
    return with_status(prompts.assign(answer=answers), Status.OK)


def reference_user_answers(
    predictions: pd.DataFrame, subset: pd.DataFrame, user_oriented: UserOrientedParams
) -> pd.DataFrame:
    """text-davinci-003's recorded answers to the same instructions (the subset's rows), as a reference row.

    The predictions file has no ids: its rows are the user-oriented file's rows, in order; each chosen
    row's instruction is checked against the subset's.
    """
    for column in ("instruction", "response"):
        if column not in predictions.columns:
            raise ValueError(f"text-davinci-003 predictions: missing column '{column}'.")
    prompts = user_instruction_prompts(subset, user_oriented.limit)
    outside = [r for r in prompts["row"] if r >= len(predictions)]
    if outside:
        raise ValueError(
            f"text-davinci-003 predictions: {len(predictions)} rows, but the subset uses row {outside[0]}."
        )
    rows = predictions.iloc[prompts["row"].tolist()]
    chosen = subset.head(user_oriented.limit) if user_oriented.limit else subset
    for position, mine, theirs in zip(prompts["row"], chosen["instruction"], rows["instruction"]):
        if str(mine).strip() != str(theirs).strip():
            raise ValueError(
                f"text-davinci-003 predictions, row {position}: its instruction is not the user-oriented "
                f"file's row {position} ({str(theirs)[:60]!r} vs {str(mine)[:60]!r}); the two files must align."
            )
    inputs = rows["input"] if "input" in rows.columns else [None] * len(rows)
    return with_status(
        pd.DataFrame(
            {
                "id": prompts["id"].tolist(),
                "row": prompts["row"].tolist(),
                "instruction": [fold_input(i, x) for i, x in zip(rows["instruction"], inputs)],
                "answer": rows["response"].astype(str).str.strip().tolist(),
            }
        ),
        Status.OK,
    )


def rate_answers(answers: pd.DataFrame, judge_params: JudgeParams, teacher: TeacherSettings) -> pd.DataFrame:
    """The judge's A-D rating of every answer (``rating, reason, attempts, error, status``)."""
    status = frame_status(answers)
    if status != Status.OK:
        return with_status(answers.assign(rating=None, reason=None, attempts=0, error=None), status)
    messages = [judge.rating_messages(i, a) for i, a in zip(answers["instruction"], answers["answer"])]
    verdicts, status = judge.run_judge(messages, judge.parse_rating, "rating", teacher, judge_params)
    out = answers.drop(columns=["status"]).reset_index(drop=True)
    return with_status(
        out.assign(
            rating=verdicts["label"], reason=verdicts["reason"], attempts=verdicts["attempts"], error=verdicts["error"]
        ),
        status,
    )


# --------------------------------------------------------------------------- AlpacaEval


def alpaca_eval_instructions(outputs: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """``instruction, reference`` (text-davinci-003's output) for the first ``limit`` AlpacaEval rows."""
    for column in ("instruction", "output"):
        if column not in outputs.columns:
            raise ValueError(f"AlpacaEval outputs: missing column '{column}'.")
    rows = outputs.head(limit) if limit else outputs
    return pd.DataFrame({"instruction": rows["instruction"].tolist(), "reference": rows["output"].tolist()})


def answer_alpaca_eval(
    student: Any, davinci_outputs: pd.DataFrame, alpaca_eval: AlpacaEvalParams, generation: GenerationParams
) -> pd.DataFrame:
    """The student's answers to the AlpacaEval instructions beside text-davinci-003's."""
    pairs = alpaca_eval_instructions(davinci_outputs, alpaca_eval.limit)
    answers, problem = answers_or_problem(student, pairs["instruction"].tolist(), generation, "AlpacaEval")
    if problem:
        return failed_frame(["instruction", "reference", "answer"], problem)
    return with_status(pairs.assign(answer=answers), Status.OK)


def reference_alpaca_answers(
    davinci_outputs: pd.DataFrame,
    chatgpt_outputs: pd.DataFrame,
    alpaca7b_outputs: pd.DataFrame,
    alpaca_eval: AlpacaEvalParams,
) -> pd.DataFrame:
    """Recorded gpt-3.5-turbo-0301 and Alpaca-7B outputs beside text-davinci-003's (reference rows)."""
    pairs = alpaca_eval_instructions(davinci_outputs, alpaca_eval.limit)
    frames = []
    for name, outputs in (("gpt-3.5-turbo-0301", chatgpt_outputs), ("alpaca-7b", alpaca7b_outputs)):
        other = alpaca_eval_instructions(outputs, alpaca_eval.limit).rename(columns={"reference": "answer"})
        merged = pairs.merge(other, on="instruction", how="inner")
        if len(merged) != len(pairs):
            logger.warning("AlpacaEval reference %s: %d of %d instructions matched.", name, len(merged), len(pairs))
        frames.append(merged.assign(generator=name))
    return with_status(pd.concat(frames, ignore_index=True), Status.OK)


def judge_alpaca_eval(
    answers: pd.DataFrame, judge_params: JudgeParams, seed: int, teacher: TeacherSettings
) -> pd.DataFrame:
    """Pairwise preference answer vs text-davinci-003; the order is shuffled by ``seed`` to cancel position bias."""
    status = frame_status(answers)
    if status != Status.OK:
        return with_status(answers.assign(preferred=None, reason=None, error=None), status)
    rng = random.Random(seed)
    swapped = [rng.random() < 0.5 for _ in range(len(answers))]
    messages = [
        judge.pairwise_messages(i, r, a) if swap else judge.pairwise_messages(i, a, r)
        for i, a, r, swap in zip(answers["instruction"], answers["answer"], answers["reference"], swapped)
    ]
    verdicts, status = judge.run_judge(messages, judge.parse_preference, "pairwise", teacher, judge_params)
    winner = []
    for label, swap in zip(verdicts["label"], swapped):
        if label is None:
            winner.append(None)
        elif label == "tie":
            winner.append("tie")
        else:
            model_first = not swap
            winner.append("model" if (label == "1") == model_first else "reference")
    out = answers.drop(columns=["status"]).reset_index(drop=True)
    return with_status(
        out.assign(swapped=swapped, preferred=winner, reason=verdicts["reason"], error=verdicts["error"]), status
    )


def win_rate(judged: pd.DataFrame) -> dict[str, Any]:
    """AlpacaEval-style win rate against text-davinci-003 (ties count half)."""
    status = frame_status(judged)
    if status != Status.JUDGED:
        return {"status": status}
    decided = judged["preferred"].dropna()
    if decided.empty:
        return {"status": Status.NOT_JUDGED.because("no judgement parsed")}
    wins = (decided == "model").sum() + 0.5 * (decided == "tie").sum()
    return {
        "status": Status.JUDGED,
        "win_rate": float(wins / len(decided)),
        "n_judged": int(len(decided)),
        "n_unparsed": int((judged["error"] == "unparsed").sum()),
    }
