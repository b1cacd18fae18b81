import pandas as pd
import pytest
from conf_params import conf_block
from pydantic import ValidationError

from lamini_lm.pipelines.distillation.cleaning import TeacherRunFailed, clean_teacher_answers
from lamini_lm.pipelines.distillation.imports import PAIR_COLUMNS
from lamini_lm.pipelines.distillation.params import CleaningParams

SETTINGS = CleaningParams.model_validate(
    conf_block(
        "distillation.cleaning",
        refusal_patterns=[r"as an ai language model", r"i'?m sorry, but i (?:cannot|can't)"],
        refusal_window_chars=200,
        truncated="drop",
        echo_min_new_chars=10,
        drop_echo=True,
    )
)


def _case(rows):
    """rows: (instruction, text, finish_reason, error_kind)."""
    ids = [f"r{i}" for i in range(len(rows))]
    requests = pd.DataFrame(
        {"request_id": ids, "instruction": [r[0] for r in rows], "instruction_source": "self_instruct_with_topic"}
    )
    results = pd.DataFrame(
        {
            "request_id": ids,
            "text": [r[1] for r in rows],
            "finish_reason": [r[2] for r in rows],
            "prompt_tokens": 12,
            "completion_tokens": 7,
            "cost_usd": 0.0001,
            "error_kind": [r[3] for r in rows],
            "error_message": ["boom" if r[3] else None for r in rows],
            "teacher_model": "replay:gpt-3.5-turbo",
        }
    )
    return requests, results


ROWS = [
    ("Name a colour.", "Blue is a calm colour.", "stop", None),
    ("Name a fruit.", None, None, "http_500"),
    ("Name a car.", "   ", "stop", None),
    ("Tell me a joke.", "As an AI language model, I don't tell jokes.", "stop", None),
    ("Write a long essay about tea and its history.", "Write a long essay about tea and its history", "stop", None),
    ("Describe a city.", "Paris is a city with long boulevards and", "length", None),
    ("Summarise the news.", "I'm sorry, but I cannot browse the news.", "length", None),
]


def test_each_rejection_has_its_reason():
    requests, results = _case(ROWS)
    pairs, log, report = clean_teacher_answers(requests, results, SETTINGS)
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs["request_id"].tolist() == ["r0"]
    assert pairs.loc[0, "teacher_model"] == "replay:gpt-3.5-turbo" and pairs.loc[0, "prompt_tokens"] == 12
    assert dict(zip(log["request_id"], log["reason"])) == {
        "r1": "failed:http_500",
        "r2": "empty",
        "r3": "refusal",
        "r4": "echo",
        "r5": "truncated",
        "r6": "refusal",
    }
    assert log.set_index("request_id").loc["r3", "detail"] == "As an AI language model"
    assert report["dropped_by_reason"] == {"failed:http_500": 1, "empty": 1, "refusal": 2, "echo": 1, "truncated": 1}
    assert report["kept"] == 1 and report["requests"] == 7


def test_truncated_can_be_kept_flagged():
    requests, results = _case(ROWS)
    pairs, log, report = clean_teacher_answers(requests, results, SETTINGS.model_copy(update={"truncated": "flag"}))
    assert pairs["request_id"].tolist() == ["r0", "r5"]
    assert log.set_index("request_id").loc["r5", "action"] == "flagged"
    assert report["flagged_by_reason"] == {"truncated": 1}


def test_every_request_failed_is_a_clear_error():
    requests, results = _case([("a", None, None, "auth"), ("b", None, None, "timeout")])
    with pytest.raises(TeacherRunFailed, match=r"Every one of the 2 teacher request\(s\) failed.*'auth': 1"):
        clean_teacher_answers(requests, results, SETTINGS)


def test_nothing_usable_left_and_bad_settings():
    requests, results = _case([("a", "", "stop", None), ("b", "x", None, "timeout")])
    with pytest.raises(ValueError, match="Cleaning left no teacher answers"):
        clean_teacher_answers(requests, results, SETTINGS)
    with pytest.raises(ValidationError, match="truncated"):
        CleaningParams.model_validate(conf_block("distillation.cleaning", truncated="keep"))
    with pytest.raises(ValidationError, match="is not a regular expression"):
        CleaningParams.model_validate(conf_block("distillation.cleaning", refusal_patterns=["(unclosed"]))


def test_missing_results_are_named():
    requests, results = _case(ROWS[:2])
    with pytest.raises(KeyError, match=r"no result for 1 request\(s\), e.g. \['r1'\]"):
        clean_teacher_answers(requests, results.iloc[:1], SETTINGS)
    with pytest.raises(KeyError, match="lack column"):
        clean_teacher_answers(requests, results.drop(columns="finish_reason"), SETTINGS)


def test_results_in_another_order_are_joined_on_request_id():
    requests, results = _case(ROWS)
    pairs, log, _ = clean_teacher_answers(requests, results.iloc[::-1], SETTINGS)
    assert pairs["request_id"].tolist() == ["r0"] and pairs.loc[0, "instruction"] == "Name a colour."
    assert set(log["request_id"]) == {"r1", "r2", "r3", "r4", "r5", "r6"}
