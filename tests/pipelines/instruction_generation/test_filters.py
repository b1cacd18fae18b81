import pytest

from lamini_lm.pipelines.instruction_generation.filters import keyword_pattern, rejection_reason
from tests.conf_params import conf_block

BLOCKED = keyword_pattern(conf_block("instruction_generation.filters")["blocked_keywords"])


def reason(text, examples=(), **overrides):
    settings = {"min_words": 3, "max_words": 12, "blocked": BLOCKED, "echo_threshold": 0.7, **overrides}
    return rejection_reason(text, list(examples), **settings)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Explain the water cycle to a child.", None),
        ("Hi there", "too_short"),
        ("word " * 13, "too_long"),
        ("Describe the picture of a sunset.", "keyword:picture"),
        ("Please Go  to the store and buy milk.", "keyword:go to"),
        ("Draw a cat with three legs.", "keyword:draw"),
        ("Summarise the profile of a mapmaker.", None),  # "map" only as a whole word
        ("- Explain the water cycle.", "starts_with_punctuation"),
        ("¿Qué hora es ahora mismo?", "non_ascii_start"),
        ("   ", "empty"),
    ],
)
def test_every_rejection_has_a_reason(text, expected):
    assert reason(text) == expected


def test_echo_of_the_prompts_own_example():
    example = "What are some things you can do to de-stress?"
    assert reason("What are some things you can do to de-stress today?", [example]) == "echo_of_example"
    assert reason("How do volcanoes form under the ocean?", [example]) is None
