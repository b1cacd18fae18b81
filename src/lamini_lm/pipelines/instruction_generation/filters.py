"""Quality filters for generated instructions; every rejection says why.

The rules follow Self-Instruct's (Wang et al., 2023) post-processing: word-length bounds, keywords
that a text-only model cannot act on, leading punctuation or non-ASCII, plus echoes of the
examples the prompt itself showed (ROUGE-L against the prompt's own examples).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable

from lamini_lm.pipelines.instruction_generation.dedup import rouge_l, rouge_tokens

# Ours: the word bound alone lets a run of text without spaces through (one 100,000-character "word"),
# so an instruction longer than ``max_words`` x this many characters is ``too_long`` too.
MAX_CHARS_PER_WORD = 20


def keyword_pattern(keywords: Iterable[str]) -> re.Pattern:
    """Whole-word, case-insensitive alternation of ``keywords`` (``go to`` matches ``Go  to``)."""
    parts = [r"\s+".join(map(re.escape, keyword.split())) for keyword in keywords]
    return re.compile(r"\b(" + "|".join(parts) + r")\b", re.IGNORECASE)


def rejection_reason(
    instruction: str,
    examples: list[str],
    *,
    min_words: int,
    max_words: int,
    blocked: re.Pattern,
    echo_threshold: float,
) -> str | None:
    """Why ``instruction`` is rejected (``too_short``, ``too_long`` — more than ``max_words`` words or
    ``max_words`` x :data:`MAX_CHARS_PER_WORD` characters —, ``keyword:<kw>``,
    ``starts_with_punctuation``, ``non_ascii_start``, ``echo_of_example``), or None to keep it."""
    text = instruction.strip()
    if not text:
        return "empty"
    words = len(text.split())
    if words < min_words:
        return "too_short"
    if words > max_words or len(text) > max_words * MAX_CHARS_PER_WORD:
        return "too_long"
    match = blocked.search(text)
    if match:
        return f"keyword:{' '.join(match.group(1).lower().split())}"
    if text[0] in string.punctuation:
        return "starts_with_punctuation"
    if not text[0].isascii():
        return "non_ascii_start"
    tokens = rouge_tokens(text)
    for example in examples:
        if rouge_l(tokens, rouge_tokens(example)) > echo_threshold:
            return "echo_of_example"
    return None
