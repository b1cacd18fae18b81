"""The judge's retries against a real HTTP server (the replay teacher): each retry is a new request, and a
judgement that never parses is "not judged (unparsable)", never a 0 % share."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.evaluation import instructions, judge
from lamini_lm.pipelines.evaluation.outcome import UNPARSABLE, Status
from lamini_lm.pipelines.evaluation.params import JudgeParams
from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.replay import serve
from lamini_lm.teacher.replay.corpus import Corpus

ANSWERS = pd.DataFrame({"id": [1, 2], "instruction": ["Name a colour.", "Add 2 and 2."], "answer": ["Blue.", "5"]})
GOOD = "Rating: A\nReason: correct."
BAD = "I would rather not grade this."


def _user(instruction: str, answer: str) -> str:
    return judge.rating_messages(instruction, answer)[1]["content"]


def _teacher(handle, tmp_path) -> TeacherSettings:
    fast = {"progress": False, "backoff_base_s": 0.01, "backoff_max_s": 0.05, "max_retries": 2, "timeout_s": 10}
    return TeacherSettings.model_validate(
        conf_block("teacher", base_url=handle.base_url, cache_path=str(tmp_path / "cache.sqlite"), **fast)
    )


@pytest.fixture
def replay():
    """A replay teacher that rates the first answer and never answers the second in the rubric's format."""
    extra = {_user("Name a colour.", "Blue."): GOOD, _user("Add 2 and 2.", "5"): BAD}
    with serve(corpus=Corpus(), extra=extra) as handle:
        yield handle


@pytest.mark.parametrize("max_retries", [1, 2, 3])
def test_every_retry_reaches_the_server_as_a_new_request(replay, tmp_path, max_retries):
    params = JudgeParams.model_validate(conf_block("evaluation.judge", max_retries=max_retries))
    rated = instructions.rate_answers(ANSWERS.assign(status="ok"), params, _teacher(replay, tmp_path))
    assert rated["rating"].tolist()[0] == "A" and pd.isna(rated["rating"].tolist()[1])
    assert rated["attempts"].tolist() == [1, 1 + max_retries]
    # 1 request for the rated answer, 1 + max_retries distinct ones for the one that never parses.
    assert sum(replay.received.values()) == 2 + max_retries and len(replay.received) == 2 + max_retries
    assert max(replay.received.values()) == 1
    # Every attempt was cached: a re-run asks the server nothing.
    instructions.rate_answers(ANSWERS.assign(status="ok"), params, _teacher(replay, tmp_path))
    assert sum(replay.received.values()) == 2 + max_retries


def test_a_judgement_that_never_parses_is_not_judged_unparsable_never_zero(replay, tmp_path):
    params = JudgeParams.model_validate(conf_block("evaluation.judge", max_retries=2))
    frame, status = judge.run_judge(
        [judge.rating_messages("Add 2 and 2.", "5")], judge.parse_rating, "rating", _teacher(replay, tmp_path), params
    )
    assert status == Status.JUDGED  # the teacher answered: the check and the counts see every attempt
    assert frame["judgement"].tolist() == [UNPARSABLE] == ["not judged (unparsable)"]
    assert frame["error"].tolist() == ["unparsed"] and frame["attempts"].tolist() == [3]
    summary = judge.rating_summary(frame, status)
    assert summary["status"] == UNPARSABLE and summary["n_unparsed"] == 1
    assert not any(key.startswith("rating_") for key in summary)  # no 0 % shares


def test_shares_count_only_parsed_ratings(replay, tmp_path):
    params = JudgeParams.model_validate(conf_block("evaluation.judge", max_retries=1))
    rated = instructions.rate_answers(ANSWERS.assign(status="ok"), params, _teacher(replay, tmp_path))
    summary = judge.rating_summary(rated.rename(columns={"rating": "label"}), rated["status"].iloc[0])
    assert summary["rating_A"] == 1.0 and summary["n_rated"] == 1 and summary["n_unparsed"] == 1


def test_a_retry_keeps_what_is_judged_and_says_why_it_asks_again():
    first = judge.rating_messages("Name a colour.", "Blue.")
    second, third = judge.retry_messages(first, 1, 2), judge.retry_messages(first, 2, 2)
    assert judge.retry_messages(first, 0, 2) == first
    assert second[1] == third[1] == first[1]
    assert "Attempt 2 of 3" in second[0]["content"] and "Attempt 3 of 3" in third[0]["content"]
    assert second[0]["content"].startswith(judge.RUBRIC_SYSTEM)
