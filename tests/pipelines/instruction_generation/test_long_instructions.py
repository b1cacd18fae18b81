"""An over-long generated instruction is rejected as too_long even when it has few words."""

from lamini_lm.pipelines.instruction_generation.filters import MAX_CHARS_PER_WORD, keyword_pattern, rejection_reason
from tests.conf_params import conf_block

FILTERS = conf_block("instruction_generation.filters")
SETTINGS = {
    "min_words": FILTERS["min_words"],
    "max_words": FILTERS["max_words"],
    "blocked": keyword_pattern(FILTERS["blocked_keywords"]),
    "echo_threshold": FILTERS["echo_threshold"],
}


def test_a_100000_character_instruction_of_few_words_is_too_long():
    text = "Summarise this text: " + "x" * 100_000
    assert len(text.split()) == 4 <= FILTERS["max_words"]
    assert rejection_reason(text, [], **SETTINGS) == "too_long"


def test_long_words_within_the_character_bound_are_kept():
    word = "a" * (MAX_CHARS_PER_WORD - 1)
    text = "Explain " + " ".join([word] * 5) + "."
    assert len(text) <= FILTERS["max_words"] * MAX_CHARS_PER_WORD
    assert rejection_reason(text, [], **SETTINGS) is None
