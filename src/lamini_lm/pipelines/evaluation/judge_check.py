"""The judge proves itself before it is believed.

Before any judged column is shown, the judge rates items whose right answer is known (A–D rubric):
- from the user-oriented instructions, each instruction with its human-written reference answer (good),
  with the answer to another instruction (bad) and with the instruction itself echoed (bad);
- the paper's rated examples (data/01_raw/paper/human_eval_rated_examples.jsonl, EACL Tables 7, 15, 16).

Its accuracy at telling good (A/B) from bad (C/D) on the first set decides: below
``judge.check.min_accuracy`` the judge "failed its check" and the report shows that instead of its
ratings. Agreement with the paper's human rates is reported beside it. A 135M model answers "A" to
everything and fails; so does any judge that cannot tell an echo from an answer.
"""

from __future__ import annotations

import random
from typing import Any

import pandas as pd

from lamini_lm import metrics
from lamini_lm.pipelines.evaluation.instructions import user_instruction_prompts
from lamini_lm.pipelines.evaluation.judge import parse_rating, rating_messages, run_judge
from lamini_lm.pipelines.evaluation.outcome import Status
from lamini_lm.pipelines.evaluation.params import JudgeParams
from lamini_lm.reporting import dataframe_markdown
from lamini_lm.teacher.config import TeacherSettings

GOOD, BAD = "good", "bad"
KINDS = ("reference answer", "another instruction's answer", "instruction echoed", "paper rated example")
JUDGED_SECTIONS = ("user_ratings", "alpaca_eval", "falseqa", "lamini_hallucination")


def judge_check_items(
    user_instructions: pd.DataFrame, rated_examples: pd.DataFrame, judge_params: JudgeParams, seed: int
) -> pd.DataFrame:
    """``kind, instruction, response, expected`` (good/bad, or the paper's A–D for its rated examples)."""
    prompts = user_instruction_prompts(user_instructions, None)
    references = [_reference(instances) for instances in user_instructions["instances"]]
    prompts = prompts.assign(reference=references)
    prompts = prompts[prompts["reference"].str.len() > 0].reset_index(drop=True)
    if len(prompts) < 2:
        raise ValueError("judge check: fewer than 2 user-oriented instructions with a reference answer.")
    chosen = sorted(random.Random(seed).sample(range(len(prompts)), min(judge_params.check.instructions, len(prompts))))
    rows: list[dict[str, Any]] = []
    for position, index in enumerate(chosen):
        other = chosen[(position + 1) % len(chosen)] if len(chosen) > 1 else (index + 1) % len(prompts)
        instruction = prompts.at[index, "instruction"]
        rows += [
            {
                "kind": KINDS[0],
                "instruction": instruction,
                "response": prompts.at[index, "reference"],
                "expected": GOOD,
            },
            {"kind": KINDS[1], "instruction": instruction, "response": prompts.at[other, "reference"], "expected": BAD},
            {"kind": KINDS[2], "instruction": instruction, "response": instruction, "expected": BAD},
        ]
    for column in ("instruction", "response", "rate"):
        if column not in rated_examples.columns:
            raise ValueError(f"human_eval_rated_examples: missing column '{column}'.")
    rows += [
        {"kind": KINDS[3], "instruction": i, "response": r, "expected": str(rate).upper()}
        for i, r, rate in zip(rated_examples["instruction"], rated_examples["response"], rated_examples["rate"])
    ]
    return pd.DataFrame(rows)


def _reference(instances: Any) -> str:
    first = instances[0] if isinstance(instances, (list, tuple)) and len(instances) else {}
    return str((first or {}).get("output") or "").strip()


def run_judge_check(items: pd.DataFrame, judge_params: JudgeParams, teacher: TeacherSettings) -> pd.DataFrame:
    """The judge's A–D rating of every check item (``label``), with a ``status`` column."""
    messages = [rating_messages(i, r) for i, r in zip(items["instruction"], items["response"])]
    judged, status = run_judge(messages, parse_rating, "judge-check", teacher, judge_params)
    return items.reset_index(drop=True).join(judged).assign(status=status)


def judge_check_summary(judged: pd.DataFrame, judge_params: JudgeParams) -> dict[str, Any]:
    """Accuracy at telling good from bad, agreement with the paper's rates, and whether the judge passed."""
    status = str(judged["status"].iloc[0]) if len(judged) else Status.NO_ROWS.value
    minimum = judge_params.check.min_accuracy
    if status != Status.JUDGED:
        return {"status": status, "passed": None, "min_accuracy": minimum}
    agreement = metrics.load("judge_agreement")  # lamini_lm/metrics/judge_agreement

    def scores(items: pd.DataFrame) -> dict[str, Any]:
        grades = ["" if pd.isna(label) else str(label) for label in items["label"]]
        return agreement.compute(predictions=grades, references=items["expected"].astype(str).tolist())

    overall = scores(judged)
    # An item the judge never answered in the rubric's format counts as wrong in the accuracy; the
    # accuracy by kind is over the items it graded.
    accuracy = overall["accuracy"] if overall["n_items"] else 0.0
    per_kind = {}
    for kind in KINDS[:3]:
        of_kind = scores(judged[judged["kind"] == kind])
        if of_kind["n_items"] > of_kind["n_ungraded"]:
            per_kind[kind] = of_kind["accuracy_graded"]
    passed = overall["n_items"] > 0 and accuracy >= minimum
    return {
        "status": Status.JUDGED.value,
        "passed": bool(passed),
        "accuracy": accuracy,
        "accuracy_by_kind": per_kind,
        "n_items": overall["n_items"],
        "n_unparsed": overall["n_ungraded"],
        "paper_agreement_exact": overall["exact_agreement"],
        "paper_agreement_within_one": overall["within_one_agreement"],
        "n_paper_examples": overall["n_graded_references"],
        "min_accuracy": minimum,
        "verdict": check_verdict(
            accuracy, passed, minimum, overall["n_items"] - overall["n_ungraded"], overall["n_items"]
        ),
    }


def check_verdict(
    accuracy: float, passed: bool, minimum: float, parsed: int | None = None, n: int | None = None
) -> str:
    """The line the report shows for the judge's check; a judge none of whose ``n`` replies parsed failed it for
    that reason, not with a 0 % accuracy."""
    if passed:
        return f"judge passed its check (accuracy {accuracy:.0%}, threshold {minimum:.0%})"
    if parsed == 0 and n:
        return f"judge failed its check: 0 of {n} replies parsed"
    unparsed = f", only {parsed} of {n} replies parsed" if parsed is not None and n and parsed < n else ""
    return f"judge failed its check (accuracy {accuracy:.0%}{unparsed})"


def withhold_failed_judgements(summaries: list[dict[str, Any]], check: dict[str, Any]) -> list[dict[str, Any]]:
    """``summaries`` with every judged section replaced by the check's verdict when the judge failed it.

    A judge that did not answer (no live judge) leaves its own status; one that passed changes nothing.
    """
    if check.get("passed") is not False:
        return summaries
    failed = {"status": check["verdict"]}
    return [{**s, **{k: failed for k in JUDGED_SECTIONS if isinstance(s.get(k), dict)}} for s in summaries]


def judge_check_section(check: dict[str, Any], judge_name: str) -> list[str]:
    """The herd report's section on the judge's check."""
    lines = [
        "## The judge's check (before any judged column is believed)",
        "",
        f"Judge: **{judge_name}**. It rates items whose right answer is known: user-oriented instructions with their "
        "human reference answer (should be A/B), with another instruction's answer and with the instruction echoed "
        "(should be C/D), and the paper's human-rated examples (EACL Tables 7, 15, 16). Below "
        f"{check['min_accuracy']:.0%} right, its ratings are withheld from every judged column.",
        "",
    ]
    if check.get("passed") is None:
        return [*lines, f"Check: {check['status']} — so no judged cell below holds a rating."]
    by_kind = ", ".join(f"{kind} {value:.0%}" for kind, value in check["accuracy_by_kind"].items())
    agreement = (
        f"{check['paper_agreement_exact']:.0%} exact, {check['paper_agreement_within_one']:.0%} within one grade "
        f"(n = {check['n_paper_examples']})"
        if check["n_paper_examples"]
        else "no paper example rated"
    )
    table = dataframe_markdown(
        ["verdict", "accuracy (n)", "by kind", "unparsed", "agreement with the paper's human rates"],
        [[check["verdict"], f"{check['accuracy']:.0%} ({check['n_items']})", by_kind, check["n_unparsed"], agreement]],
    )
    return [*lines, table]
