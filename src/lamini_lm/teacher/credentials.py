"""The API key, kept in process memory only.

A hook registers Kedro's ``credentials`` ``openai.api_key``; otherwise ``OPENAI_API_KEY`` is used.
The key never goes into parameters, the cache, results or logs; :func:`redact` scrubs it (and
anything that looks like an OpenAI key) from messages that came back from an endpoint.
"""

from __future__ import annotations

import os
import re

_api_key: str | None = None
_PLACEHOLDERS = {"", "sk-...", "sk-xxx", "<your key>", "changeme"}
_KEY_LIKE = re.compile(r"sk-[A-Za-z0-9_\-*.]{4,}")


def register_api_key(key: str | None) -> None:
    """Remember ``key`` for this process (placeholders such as ``sk-...`` are ignored)."""
    global _api_key  # noqa: PLW0603 - the key lives in process memory only, never in parameters
    key = (key or "").strip()
    _api_key = None if key in _PLACEHOLDERS else key


def get_api_key() -> str | None:
    """The registered key, else ``OPENAI_API_KEY``, else ``None``."""
    if _api_key:
        return _api_key
    env = os.environ.get("OPENAI_API_KEY", "").strip()
    return env or None


def redact(text: str | None) -> str | None:
    """``text`` with the key (and any ``sk-…`` token) replaced by ``***``."""
    if text is None:
        return None
    key = get_api_key()
    if key:
        text = text.replace(key, "***")
    return _KEY_LIKE.sub("sk-***", text)
