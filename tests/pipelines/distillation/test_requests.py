import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.distillation import nodes
from lamini_lm.pipelines.distillation.params import RequestParams
from lamini_lm.teacher.config import TeacherSettings

SETTINGS = RequestParams.model_validate(
    conf_block("distillation.requests", system_prompt="You are helpful.", temperature=0.7, max_tokens=64)
)


def _pool(instructions):
    return pd.DataFrame(
        {"instruction": instructions, "instruction_source": "self_instruct_with_topic", "source_id": "x"}
    )


def test_one_request_per_distinct_instruction():
    requests = nodes.build_requests(_pool(["Name a colour.", " Name a colour. ", "Count to 3."]), SETTINGS)
    assert len(requests) == 2
    assert requests.loc[0, "messages"] == [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Name a colour."},
    ]
    assert requests["request_id"].is_unique
    again = nodes.build_requests(_pool(["Name a colour.", "Count to 3."]), SETTINGS)
    assert again["request_id"].tolist() == requests["request_id"].tolist()
    assert requests["max_tokens"].tolist() == [64, 64]


PAPER_SYSTEM_MESSAGE = "You are a helpful assistant, but you must respond the provided instructions as concise as possible."  # EACL Appendix B, Figure 8 (PAPER.md "Response generation")


@pytest.mark.parametrize("env", ["paper", "base"])
def test_every_request_carries_the_papers_system_message_before_the_instruction(env):
    settings = RequestParams.model_validate(conf_block("distillation.requests", env=env))
    requests = nodes.build_requests(_pool(["Name a colour.", "Count to 3."]), settings)
    for messages, instruction in zip(requests["messages"], ["Name a colour.", "Count to 3."]):
        assert messages == [
            {"role": "system", "content": PAPER_SYSTEM_MESSAGE},
            {"role": "user", "content": instruction},
        ]


def test_paper_requests_use_the_default_sampling_settings():
    settings = RequestParams.model_validate(conf_block("distillation.requests", env="paper"))
    assert (settings.temperature, settings.top_p) == (1.0, None)  # the API's defaults; top_p not sent


def test_no_system_prompt_and_limit():
    settings = RequestParams.model_validate(conf_block("distillation.requests", system_prompt=None, limit=2))
    requests = nodes.build_requests(_pool(["a", "b", "c"]), settings)
    assert len(requests) == 2 and requests.loc[0, "messages"] == [{"role": "user", "content": "a"}]


@pytest.mark.parametrize(
    "pool, message",
    [
        (pd.DataFrame({"instruction": ["a"]}), r"lacks column\(s\) \['instruction_source'\]"),
        (_pool([]), "instruction_pool is empty"),
        (_pool(["a", "  ", None]), r"2 empty instruction\(s\), first at row\(s\) \[1, 2\]"),
    ],
)
def test_bad_pools_fail_clearly(pool, message):
    with pytest.raises((KeyError, ValueError), match=message):
        nodes.build_requests(pool, SETTINGS)


def test_ask_teacher_projects_then_sends(monkeypatch):
    calls = []

    def fake_project(requests, settings):
        calls.append("project")
        return {
            "requests": len(requests),
            "cached": 0,
            "prompt_tokens": 10,
            "max_completion_tokens": 64,
            "projected_cost_usd": 0.01,
        }

    def fake_complete(requests, settings):
        calls.append("complete")
        assert list(requests.columns) == ["request_id", "messages", "temperature", "max_tokens", "top_p"]
        return pd.DataFrame({"request_id": requests["request_id"], "text": "ok"})

    monkeypatch.setattr(nodes.teacher, "project_cost", fake_project, raising=False)
    monkeypatch.setattr(nodes.teacher, "complete", fake_complete, raising=False)
    requests = nodes.build_requests(_pool(["a", "b"]), SETTINGS)
    results, projection = nodes.ask_teacher(requests, TeacherSettings.model_validate(conf_block("teacher")))
    assert calls == ["project", "complete"]
    assert projection["requests"] == 2 and len(results) == 2


def test_a_limit_is_taken_in_turn_from_each_source():
    """The pool lists originals first: a limited run must still ask about generated instructions."""
    pool = pd.DataFrame(
        {
            "instruction": [f"Original instruction number {i}." for i in range(100)]
            + [f"Generated instruction number {i}." for i in range(10)],
            "instruction_source": ["alpaca"] * 100 + ["self_instruct_without_topic"] * 10,
        }
    )
    settings = RequestParams.model_validate(conf_block("distillation.requests", limit=20))
    requests = nodes.build_requests(pool, settings)
    assert requests["instruction_source"].value_counts().to_dict() == {"alpaca": 10, "self_instruct_without_topic": 10}
    # Pool order is kept within (and across) the sources asked.
    assert requests["instruction"].tolist()[:2] == ["Original instruction number 0.", "Original instruction number 1."]
    assert requests["instruction"].tolist()[-1] == "Generated instruction number 9."
