"""The judge check: a judge that cannot tell good answers from bad ones is reported as failed, and its
ratings are withheld; one that can passes and is compared with the paper's human rates."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block
from markdown_tables import read_table

from lamini_lm.pipelines.evaluation import judge_check
from lamini_lm.pipelines.evaluation.params import JudgeParams
from lamini_lm.teacher.config import TeacherSettings

RAW = "data/01_raw"


@pytest.fixture
def items(project_root):
    users = pd.read_json(project_root / RAW / "human_eval/user_oriented_instructions.jsonl", lines=True)
    rated = pd.read_json(project_root / RAW / "paper/human_eval_rated_examples.jsonl", lines=True)
    return judge_check.judge_check_items(users, rated, JudgeParams.model_validate(conf_block("evaluation.judge")), 42)


def _judge() -> JudgeParams:
    return JudgeParams.model_validate(conf_block("evaluation.judge"))


def _teacher() -> TeacherSettings:
    return TeacherSettings.model_validate(conf_block("teacher", replay={"serve": False}))


def test_each_instruction_gives_one_good_and_two_bad_items_plus_the_papers_rated_examples(items):
    n = conf_block("evaluation.judge")["check"]["instructions"]
    assert items["kind"].value_counts().to_dict() == {
        "reference answer": n,
        "another instruction's answer": n,
        "instruction echoed": n,
        "paper rated example": 10,
    }
    pairs = items[items["kind"] != "paper rated example"]
    assert set(pairs.loc[pairs["kind"] == "reference answer", "expected"]) == {"good"}
    assert set(pairs.loc[pairs["kind"] != "reference answer", "expected"]) == {"bad"}
    echoed = pairs[pairs["kind"] == "instruction echoed"]
    assert (echoed["response"] == echoed["instruction"]).all()
    other = pairs[pairs["kind"] == "another instruction's answer"].reset_index(drop=True)
    own = pairs[pairs["kind"] == "reference answer"].reset_index(drop=True)
    assert (other["response"] != own["response"]).all()
    assert set(items.loc[items["kind"] == "paper rated example", "expected"]) == {"A", "B", "C", "D"}


def test_the_items_are_the_same_for_the_same_seed(project_root, items):
    users = pd.read_json(project_root / RAW / "human_eval/user_oriented_instructions.jsonl", lines=True)
    rated = pd.read_json(project_root / RAW / "paper/human_eval_rated_examples.jsonl", lines=True)
    assert judge_check.judge_check_items(users, rated, _judge(), 42).equals(items)
    assert not judge_check.judge_check_items(users, rated, _judge(), 7).equals(items)


def _reply_by_item(items: pd.DataFrame, rule):
    """A fake judge that answers each item by ``rule(expected)``, found from the user message."""
    answers = {
        f"Instruction:\n{row.instruction}\n\nResponse:\n{row.response}": rule(row.expected)
        for row in items.itertuples()
    }
    return lambda user, attempt: f"Rating: {answers[user]}\nReason: r"


def test_a_judge_that_always_says_a_fails_its_check_and_its_ratings_are_withheld(items, fake_teacher):
    fake_teacher(reply=lambda user, attempt: "Rating: A\nReason: looks fine")
    judged = judge_check.run_judge_check(items, _judge(), _teacher())
    check = judge_check.judge_check_summary(judged, _judge())
    assert check["passed"] is False and check["accuracy"] == pytest.approx(1 / 3)
    assert check["accuracy_by_kind"] == {
        "reference answer": 1.0,
        "another instruction's answer": 0.0,
        "instruction echoed": 0.0,
    }
    assert check["verdict"] == "judge failed its check (accuracy 33%)"
    summaries = [{"model": "m", "user_ratings": {"status": "judged", "rating_A": 1.0}, "fidelity": {"status": "ok"}}]
    withheld = judge_check.withhold_failed_judgements(summaries, check)
    assert withheld[0]["user_ratings"] == {"status": "judge failed its check (accuracy 33%)"}
    assert withheld[0]["fidelity"] == {"status": "ok"}  # not a judged column


def test_a_judge_that_reads_the_label_passes_and_agrees_with_the_paper(items, fake_teacher):
    fake_teacher(reply=_reply_by_item(items, lambda e: {"good": "A", "bad": "D"}.get(e, e)))
    judged = judge_check.run_judge_check(items, _judge(), _teacher())
    check = judge_check.judge_check_summary(judged, _judge())
    assert check["passed"] is True and check["accuracy"] == 1.0
    assert check["paper_agreement_exact"] == 1.0 and check["n_paper_examples"] == 10
    assert check["verdict"].startswith("judge passed its check (accuracy 100%")
    summaries = [{"model": "m", "user_ratings": {"status": "judged", "rating_A": 1.0}}]
    assert judge_check.withhold_failed_judgements(summaries, check) == summaries
    section = "\n".join(judge_check.judge_check_section(check, "fake"))
    header, rows = read_table(section)
    assert header[:2] == ["verdict", "accuracy (n)"] and len(rows) == 1
    assert rows[0][0].startswith("judge passed its check") and rows[0][1] == f"100% ({check['n_items']})"
    assert "100% exact" in rows[0][4]


def test_unparsable_judgements_count_as_wrong(items, fake_teacher):
    fake_teacher(reply=lambda user, attempt: "I think it is fine.")
    check = judge_check.judge_check_summary(judge_check.run_judge_check(items, _judge(), _teacher()), _judge())
    assert check["passed"] is False and check["accuracy"] == 0.0 and check["n_unparsed"] == check["n_items"]


def test_no_live_judge_leaves_the_judged_cells_as_they_are(items, fake_teacher):
    fake_teacher(error="not in replay corpus")
    teacher = TeacherSettings.model_validate(conf_block("teacher", replay={"serve": True}))
    check = judge_check.judge_check_summary(judge_check.run_judge_check(items, _judge(), teacher), _judge())
    assert check == {"status": "not judged (no live judge)", "passed": None, "min_accuracy": 0.8}
    summaries = [{"model": "m", "user_ratings": {"status": "not judged (no live judge)"}}]
    assert judge_check.withhold_failed_judgements(summaries, check) == summaries
    assert "no judged cell below holds a rating" in "\n".join(judge_check.judge_check_section(check, "replay"))
