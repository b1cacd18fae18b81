"""What the replay teacher answers: recorded outputs from the corpus (plus a test's fixtures),
as OpenAI chat completions; anything else is an explicit ``not_in_replay_corpus`` error."""

from __future__ import annotations

import time
import uuid
from typing import Any

from aiohttp import web

from lamini_lm.teacher.replay.corpus import Corpus
from lamini_lm.teacher.tokens import count_prompt_tokens, count_tokens, normalise, request_key, truncate_tokens

NOT_IN_CORPUS = "not_in_replay_corpus"
NOT_IN_CORPUS_MESSAGE = (
    "not in replay corpus: the replay teacher only serves recorded real outputs "
    "(it is not a model). Point teacher.base_url at a real endpoint for new prompts."
)


def error_response(
    status: int, message: str, code: str, kind: str = "invalid_request_error", headers: dict[str, str] | None = None
) -> web.Response:
    """An OpenAI-style error answer (``{"error": {"message", "type", "param", "code"}}``)."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


def key_of(body: dict[str, Any]) -> str:
    """The content key of a chat request body (the client's :func:`request_key`), or ``"invalid"``."""
    try:
        return request_key(
            str(body.get("model")),
            body.get("messages") or [],
            body.get("temperature"),
            body.get("max_tokens"),
            body.get("top_p"),
        )
    except (AttributeError, TypeError, ValueError):
        return "invalid"


class Answers:
    """Recorded answers: a test's ``extra`` ``{instruction: response}`` pairs first, then the corpus."""

    def __init__(self, corpus: Corpus, extra: dict[str, str] | None = None):
        self.corpus = corpus
        self.extra = {normalise(k): v for k, v in (extra or {}).items()}

    def reply_for(self, messages: list[dict[str, Any]], seed: int) -> tuple[str, str] | None:
        """``(text, source)`` for a chat request, or ``None`` when it is not in the corpus."""
        users = [m for m in messages if m.get("role") == "user"]
        if not users:
            return None
        prompt = str(users[-1].get("content") or "")
        fixed = self.extra.get(normalise(prompt))
        if fixed is not None:
            return fixed, "fixture"
        return self.corpus.answer(prompt) or self.corpus.generate(prompt, seed)

    def completion(self, body: dict[str, Any], seed: int, force_length: bool = False) -> dict[str, Any] | None:
        """The chat completion answering ``body`` (cut at its ``max_tokens``), or ``None``."""
        messages = body.get("messages") or []
        found = self.reply_for(messages, seed)
        if found is None:
            return None
        text, source = found
        finish = "stop"
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens")
        if max_tokens and count_tokens(text) > int(max_tokens):
            text, finish = truncate_tokens(text, int(max_tokens)), "length"
        if force_length:
            text, finish = truncate_tokens(text, max(1, count_tokens(text) // 2)), "length"
        prompt_tokens, completion_tokens = count_prompt_tokens(messages), count_tokens(text)
        return {
            "id": f"chatcmpl-replay-{uuid.uuid4().hex[:20]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": f"replay:{source}",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": finish,
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            "system_fingerprint": "replay",
        }
