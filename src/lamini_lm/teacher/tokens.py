"""Request identity and a deterministic approximate token count.

The count is *approximate by design*: one token per word or punctuation mark (regex
``\\w+|[^\\w\\s]``), plus 4 per chat message. It is used for projections, budgets, rate buckets
and the replay teacher's ``usage``; real endpoints report their own usage, which wins.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
TOKENS_PER_MESSAGE = 4


def count_tokens(text: str) -> int:
    """Approximate token count of ``text`` (words and punctuation marks)."""
    return len(_TOKEN_RE.findall(text or ""))


def count_prompt_tokens(messages: list[dict[str, Any]]) -> int:
    """Approximate prompt tokens of a chat request."""
    return sum(count_tokens(str(m.get("content") or "")) + TOKENS_PER_MESSAGE for m in messages) + 2


def truncate_tokens(text: str, n: int) -> str:
    """``text`` cut after its ``n``-th approximate token."""
    if n <= 0:
        return ""
    for i, match in enumerate(_TOKEN_RE.finditer(text)):
        if i == n - 1:
            return text[: match.end()]
    return text


def normalise(text: str) -> str:
    """Whitespace-normalised text (the replay teacher's lookup key)."""
    return " ".join(str(text).split())


def _num(value: Any) -> float | None:
    return None if value is None else float(value)


def request_key(
    model: str,
    messages: list[dict[str, Any]],
    temperature: float | None,
    max_tokens: int | None,
    top_p: float | None,
) -> str:
    """SHA-256 of a request's canonical content: model, messages and sampling settings.

    Endpoint, backend and API key are not part of it, so one cache serves ``openai`` and
    ``openai_batch`` alike and a run can switch backends without paying twice.
    """
    canonical = {
        "model": model,
        "messages": [{str(k): str(v) for k, v in sorted(m.items())} for m in messages],
        "temperature": _num(temperature),
        "max_tokens": None if max_tokens is None else int(max_tokens),
        "top_p": _num(top_p),
    }
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()
