"""The judge: rubric parsing, retries of unparseable replies, honest "not judged", win rate, FalseQA rates."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block
from pydantic import ValidationError

from lamini_lm.pipelines.evaluation import hallucination, instructions, judge
from lamini_lm.pipelines.evaluation.hallucination import falseqa_questions, falseqa_rates
from lamini_lm.pipelines.evaluation.outcome import NO_LIVE_JUDGE
from lamini_lm.pipelines.evaluation.params import JudgeParams
from lamini_lm.teacher.config import TeacherSettings

JUDGE = JudgeParams.model_validate(conf_block("evaluation.judge", max_retries=2, temperature=0.0, max_tokens=64))
SEED = 3
LIVE = TeacherSettings.model_validate(conf_block("teacher", replay={"serve": False}))
REPLAY = TeacherSettings.model_validate(conf_block("teacher", replay={"serve": True}))
ANSWERS = pd.DataFrame(
    {"id": [1, 2, 3], "instruction": ["i1", "i2", "i3"], "answer": ["good", "bad", "meh"], "status": "ok"}
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Rating: A\nReason: fine", ("A", "fine")),
        ("rating - (c)\nreason: wrong facts", ("C", "wrong facts")),
        ("I think it is good", (None, None)),
        (None, (None, None)),
        ("Rating: E", (None, None)),
    ],
)
def test_parse_rating(text, expected):
    assert judge.parse_rating(text) == expected


def test_ratings_go_through_the_teacher_with_the_rubric(fake_teacher):
    teacher = fake_teacher(
        reply=lambda user, attempt: "Rating: A\nReason: ok" if "good" in user else "Rating: D\nReason: no"
    )
    rated = instructions.rate_answers(ANSWERS, JUDGE, LIVE)
    assert rated["rating"].tolist() == ["A", "D", "D"] and rated["status"].eq("judged").all()
    request = teacher.calls[0]
    assert (
        request["request_id"].is_unique
        and "A: valid, acceptable and satisfying" in request["messages"][0][0]["content"]
    )
    summary = judge.rating_summary(rated.rename(columns={"rating": "label"}), "judged")
    assert summary["rating_A"] == pytest.approx(1 / 3) and summary["rating_D"] == pytest.approx(2 / 3)


def test_unparseable_replies_are_retried_then_counted(fake_teacher):
    # answer 'meh' parses only on the second attempt; 'bad' never parses.
    def reply(user, attempt):
        if "good" in user or ("meh" in user and attempt >= 1):
            return "Rating: B\nReason: minor"
        return "I refuse to grade."

    teacher = fake_teacher(reply=reply)
    rated = instructions.rate_answers(ANSWERS, JUDGE, LIVE)
    assert rated["rating"].fillna("-").tolist() == ["B", "-", "B"]
    assert rated["error"].fillna("-").tolist() == ["-", "unparsed", "-"]
    assert rated["attempts"].tolist() == [1, 3, 2]
    assert len(teacher.calls) == 3 and len(teacher.calls[1]) == 2  # only the unparsed are asked again
    assert set(teacher.calls[0]["request_id"]).isdisjoint(teacher.calls[1]["request_id"])  # retries bypass the cache
    summary = judge.rating_summary(rated.rename(columns={"rating": "label"}), "judged")
    assert summary["n_unparsed"] == 1 and summary["n_rated"] == 2


def test_replay_teacher_means_not_judged_never_a_number(fake_teacher):
    fake_teacher(error="not in replay corpus")
    rated = instructions.rate_answers(ANSWERS, JUDGE, REPLAY)
    assert rated["status"].eq(NO_LIVE_JUDGE).all() and rated["rating"].isna().all()
    assert judge.rating_summary(rated, rated["status"].iloc[0]) == {"status": NO_LIVE_JUDGE}


def test_judge_failure_on_a_live_endpoint_says_why(fake_teacher):
    fake_teacher(error="connection refused")
    rated = instructions.rate_answers(ANSWERS, JUDGE, LIVE)
    assert rated["status"].iloc[0] == "not judged (not_found: connection refused)"


def test_alpaca_win_rate_is_independent_of_presentation_order(fake_teacher):
    def prefer_model(user, attempt):
        first = user.split("Response 1:\n")[1].split("\n\nResponse 2:")[0]
        return "Preferred: 1\nReason: x" if first.startswith("MODEL") else "Preferred: 2\nReason: x"

    fake_teacher(reply=prefer_model)
    answers = pd.DataFrame(
        {"instruction": [f"i{k}" for k in range(8)], "reference": ["REF"] * 8, "answer": ["MODEL"] * 8, "status": "ok"}
    )
    judged = instructions.judge_alpaca_eval(answers, JUDGE, SEED, LIVE)
    assert 0 < judged["swapped"].sum() < 8  # both orders used
    assert instructions.win_rate(judged) == {"status": "judged", "win_rate": 1.0, "n_judged": 8, "n_unparsed": 0}
    fake_teacher(reply=lambda user, attempt: "Preferred: tie\nReason: same")
    assert instructions.win_rate(instructions.judge_alpaca_eval(answers, JUDGE, SEED, LIVE))["win_rate"] == 0.5


def test_falseqa_hallucination_and_wrong_refusal(project_root, fake_teacher):
    data = pd.read_csv(project_root / "data/01_raw/hallucination/falseqa_test.csv")
    questions = falseqa_questions(data, 3)
    assert questions["label"].tolist() == [1, 1, 1, 0, 0, 0]
    assert questions["human_answers"][0][0] == "Carbon dioxide is composed of two oxygen atoms and one carbon atom."
    verdicts = iter(["ACCEPTS", "REBUTS", "ACCEPTS", "DECLINES", "ACCEPTS", "ACCEPTS"])
    teacher = fake_teacher(reply=lambda user, attempt: f"Verdict: {next(verdicts)}\nReason: r")
    judged = hallucination.judge_falseqa(questions.assign(answer="an answer", status="ok"), JUDGE, LIVE)
    assert "Reference answers written by people:\n- Carbon dioxide" in teacher.calls[0]["messages"][0][1]["content"]
    rates = falseqa_rates(judged)
    assert rates["hallucination_rate"] == pytest.approx(2 / 3)
    assert rates["wrong_refusal_rate"] == pytest.approx(1 / 3)


def test_falseqa_bad_label_names_the_row():
    with pytest.raises(ValueError, match=r"row 1: label 'x' is not 0 or 1"):
        falseqa_questions(pd.DataFrame({"question": ["a", "b"], "answer": ["[]", "[]"], "label": ["1", "x"]}), 2)
    with pytest.raises(ValueError, match=r"row 0: 'answer' looks like a list but does not parse"):
        falseqa_questions(pd.DataFrame({"question": ["a"], "answer": ["[unclosed"], "label": [1]}), 2)


def test_teacher_overrides_are_merged_onto_the_teacher_for_judging(fake_teacher):
    overrides = {"model": "gpt-4o-mini", "replay": {"serve": False}}
    judge_params = JudgeParams.model_validate(conf_block("evaluation.judge", teacher_overrides=overrides))
    settings = judge.judge_settings(REPLAY, judge_params)
    assert settings.model == "gpt-4o-mini" and settings.replay.serve is False
    assert settings.replay.port == REPLAY.replay.port and settings.base_url == REPLAY.base_url  # the rest stays
    assert judge.judge_settings(REPLAY, JUDGE) is REPLAY
    with pytest.raises(ValidationError, match=r"teacher_overrides\n.*unknown teacher setting\(s\) \['modle'\]"):
        JudgeParams.model_validate(conf_block("evaluation.judge", teacher_overrides={"modle": "x"}))
