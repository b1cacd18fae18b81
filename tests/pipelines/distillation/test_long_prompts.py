"""An over-long instruction never reaches the teacher: it is recorded as failed:prompt_too_long, with why."""

from __future__ import annotations

import pandas as pd
from conf_params import conf_block

from lamini_lm.pipelines.distillation import nodes
from lamini_lm.pipelines.distillation.cleaning import clean_teacher_answers
from lamini_lm.pipelines.distillation.params import CleaningParams, RequestParams
from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.replay import serve
from lamini_lm.teacher.replay.corpus import Corpus

SETTINGS = RequestParams.model_validate(conf_block("distillation.requests"))
HUGE = "Summarise this: " + "lorem ipsum dolor sit amet " * 3704  # ~100,000 characters, ~18,500 words
SHORT = ["Name a colour.", "Count to 3."]


def _pool(instructions):
    return pd.DataFrame({"instruction": instructions, "instruction_source": "alpaca", "source_id": "x"})


def test_the_limit_is_the_models_context_length_in_conf():
    assert SETTINGS.max_prompt_tokens == 3584  # gpt-3.5-turbo's 4,096 minus teacher.max_tokens 512


def test_an_over_long_instruction_is_marked_not_sent_with_its_size():
    assert len(HUGE) > 100_000
    requests = nodes.build_requests(_pool([SHORT[0], HUGE, SHORT[1]]), SETTINGS)
    assert requests["rejected"].isna().tolist() == [True, False, True]
    reason = requests["rejected"].iloc[1]
    assert (
        "over params:distillation.requests.max_prompt_tokens (3584)" in reason
        and f"({len(HUGE.strip())} characters)" in reason
    )
    assert nodes.sendable(requests)["request_id"].tolist() == requests["request_id"].iloc[[0, 2]].tolist()


def test_the_teacher_never_sees_it_and_the_cleaning_log_says_why(tmp_path):
    requests = nodes.build_requests(_pool([SHORT[0], HUGE, SHORT[1]]), SETTINGS)
    extra = dict(zip(SHORT, ["Blue.", "1, 2, 3."]))
    with serve(corpus=Corpus(), extra=extra) as handle:
        teacher = TeacherSettings.model_validate(
            conf_block("teacher", base_url=handle.base_url, cache_path=str(tmp_path / "c.sqlite"), progress=False)
        )
        results, projection = nodes.ask_teacher(requests, teacher)
        assert sum(handle.received.values()) == 2  # the 100,000-character prompt was never sent
    assert projection["requests"] == 2
    assert results["request_id"].tolist() == requests["request_id"].tolist()
    assert results["error_kind"].tolist()[1] == "prompt_too_long" and results["attempts"].tolist()[1] == 0
    pairs, log, report = clean_teacher_answers(
        requests, results, CleaningParams.model_validate(conf_block("distillation.cleaning"))
    )
    assert HUGE not in pairs["instruction"].tolist() and len(pairs) == 2
    assert log["reason"].tolist() == ["failed:prompt_too_long"] and "max_prompt_tokens" in log["detail"].iloc[0]
    assert report["dropped_by_reason"] == {"failed:prompt_too_long": 1}
