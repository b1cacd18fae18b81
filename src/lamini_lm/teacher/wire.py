"""The OpenAI chat-completions wire format, as both API backends read it.

Where the API lives by default, what a completion body holds, how an error body names its code,
and which error statuses are permanent (a 4xx other than 408/409/429: recorded, never retried).
"""

from __future__ import annotations

import json
from typing import Any

from lamini_lm.teacher.config import TeacherSettings

DEFAULT_BASE_URL = "https://api.openai.com/v1"
BATCH_URL = "/v1/chat/completions"  # the ``url`` of every Batch API line
RETRYABLE_4XX = frozenset({408, 409, 429})


class MalformedResponse(ValueError):
    """A 2xx answer whose body is not a readable chat completion."""


def endpoint(settings: TeacherSettings) -> str:
    """The API base URL: ``settings.base_url``, else OpenAI's."""
    return settings.base_url or DEFAULT_BASE_URL


def is_permanent(status: int) -> bool:
    """Whether an error status is one that retrying cannot fix (4xx other than 408, 409, 429)."""
    return 400 <= status < 500 and status not in RETRYABLE_4XX


def error_kind(code: Any, status: int | None) -> str:
    """The result's ``error_kind``: the endpoint's error code, else ``server_error`` / ``bad_request``."""
    if code:
        return str(code)
    return "server_error" if status is None or status >= 500 else "bad_request"


def read_completion(body: bytes | str | dict[str, Any], model: str) -> dict[str, Any]:
    """The result fields of a chat completion (``text, finish_reason, prompt_tokens,
    completion_tokens, teacher_model``); ``model`` names the teacher when the body does not.
    Raises :class:`MalformedResponse` when the body cannot be read."""
    try:
        data = json.loads(body) if isinstance(body, (bytes, str)) else body
        choice = data["choices"][0]
        text = choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("message content is not a string")
        usage = data.get("usage") or {}
        return {
            "text": text,
            "finish_reason": choice.get("finish_reason"),
            "prompt_tokens": int(usage.get("prompt_tokens") or 0),
            "completion_tokens": int(usage.get("completion_tokens") or 0),
            "teacher_model": str(data.get("model") or model),
        }
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"{type(exc).__name__}: {exc}") from None


def read_error(content: bytes, status: int) -> tuple[str | None, str]:
    """``(code, message)`` of an error body (``{"error": {"code", "message"}}`` or vLLM's flat one),
    else ``(None, the start of the raw text)``."""
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if isinstance(data, dict):
        inner = data.get("error") if isinstance(data.get("error"), dict) else data
        message = inner.get("message")
        code = inner.get("code")
        if isinstance(message, str):
            return (code if isinstance(code, str) else None), message
    return None, content[:300].decode("utf-8", "replace").strip() or f"HTTP {status}"
