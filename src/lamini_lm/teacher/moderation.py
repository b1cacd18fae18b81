"""``moderate(texts, settings, model=..., batch_size=...)``: texts → moderation verdicts, through the teacher door.

Posts ``{"model", "input": [texts]}`` to ``/moderations`` of ``teacher.base_url`` (OpenAI's by
default) with the teacher's key (Kedro credentials or ``OPENAI_API_KEY``; never logged, cached or
returned). Each text's verdict is committed to the teacher's SQLite cache the moment it arrives,
under a key of its own — ``moderation:`` + the SHA-256 of endpoint, model and text — which can never
equal a chat request's key (a bare SHA-256 hex digest), so a re-run sends nothing and the chat cache
is untouched. Equal texts are sent once.

Moderation is free at OpenAI: there is no cost to project and ``max_cost_usd`` never refuses a
moderation request; ``dry_run`` sends nothing (every uncached text gets ``error_kind="dry_run"``).
Retries are the chat client's (:mod:`lamini_lm.teacher.client`): 429, 5xx, timeouts, dropped
connections and unreadable bodies are retried with backoff and full jitter up to ``max_retries``,
honouring ``Retry-After``; other 4xx are recorded for the texts of that request; 401/403 raise
:class:`~lamini_lm.teacher.run.TeacherAuthError` and an exhausted quota
:class:`~lamini_lm.teacher.run.TeacherQuotaError`. An endpoint that cannot be connected to before it
has answered anything raises :class:`TeacherUnreachableError` at once, naming ``teacher.base_url``.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from lamini_lm.teacher.cache import ResultCache
from lamini_lm.teacher.config import TeacherSettings, load_settings
from lamini_lm.teacher.core import run_coroutine
from lamini_lm.teacher.credentials import redact
from lamini_lm.teacher.run import Job, TeacherAuthError, TeacherQuotaError, TeacherUnreachableError
from lamini_lm.teacher.tokens import count_tokens
from lamini_lm.teacher.wire import MalformedResponse, endpoint, error_kind, is_permanent

if TYPE_CHECKING:  # the HTTP client stack (openai, aiohttp) is imported only when something is sent
    from lamini_lm.teacher.client import Limiter
    from lamini_lm.teacher.transport import Reply, Transport

logger = logging.getLogger(__name__)

MODERATION_PATH = "/moderations"
KEY_PREFIX = "moderation:"
# The replay teacher's refusal of a text it holds no recorded verdict for.
UNSEEN_TEXT = "cannot_moderate_unseen_text"
MODERATION_COLUMNS = [
    "flagged",
    "categories",
    "category_scores",
    "moderation_model",
    "cached",
    "attempts",
    "error_kind",
    "error_message",
]


def moderation_key(model: str, text: str) -> str:
    """The cache key of one text's verdict: ``moderation:`` + SHA-256 of endpoint, model and text."""
    blob = json.dumps(
        {"endpoint": MODERATION_PATH, "model": model, "input": text},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return KEY_PREFIX + hashlib.sha256(blob.encode("utf-8")).hexdigest()


def read_moderation(body: bytes | str, expected: int, model: str) -> list[dict[str, Any]]:
    """One verdict per input of a ``/moderations`` answer: ``flagged, categories, category_scores,
    moderation_model``. Raises :class:`MalformedResponse` when the body cannot be read."""
    try:
        data = json.loads(body)
        results = data["results"]
        if not isinstance(results, list) or len(results) != expected:
            raise ValueError(f"{expected} inputs but {len(results) if isinstance(results, list) else 'no'} results")
        answered_by = str(data.get("model") or model)
        verdicts = []
        for result in results:
            scores = {str(k): float(v) for k, v in (result.get("category_scores") or {}).items()}
            categories = {str(k): bool(v) for k, v in (result.get("categories") or {}).items()}
            if not isinstance(result["flagged"], bool):
                raise TypeError("'flagged' is not a boolean")
            verdicts.append(
                {
                    "flagged": result["flagged"],
                    "categories": categories,
                    "category_scores": scores,
                    "moderation_model": answered_by,
                }
            )
        return verdicts
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedResponse(f"{type(exc).__name__}: {exc}") from None


def _failure(kind: str, message: str, attempts: int = 0) -> dict[str, Any]:
    return {
        "flagged": None,
        "categories": None,
        "category_scores": None,
        "moderation_model": None,
        "cached": False,
        "attempts": attempts,
        "error_kind": kind,
        "error_message": redact(message),
    }


class _Moderator:
    """Sends the uncached texts, ``batch_size`` per request, and commits every verdict to the cache."""

    def __init__(self, settings: TeacherSettings, cache: ResultCache, model: str):
        self.settings, self.cache, self.model = settings, cache, model
        self.results: dict[str, dict[str, Any]] = {}
        self.stats: Counter = Counter()
        self.reached = False  # the endpoint has answered (any status): a later refused connection is a blip

    async def run(self, pending: list[tuple[str, str]], batch_size: int) -> dict[str, dict[str, Any]]:
        from lamini_lm.teacher.client import Limiter
        from lamini_lm.teacher.transport import TRANSPORTS

        transport = TRANSPORTS[self.settings.transport](self.settings, path=MODERATION_PATH)
        limiter = Limiter(self.settings)
        chunks = [pending[i : i + batch_size] for i in range(0, len(pending), batch_size)]
        try:
            await self._one(transport, limiter, chunks[0])  # alone: an unreachable endpoint fails here, at once
            queue = list(reversed(chunks[1:]))

            async def worker() -> None:
                while queue:
                    await self._one(transport, limiter, queue.pop())

            tasks = [asyncio.create_task(worker()) for _ in range(min(self.settings.max_concurrency, len(queue)))]
            try:
                if tasks:
                    done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
                    for task in done:
                        if task.exception() is not None:
                            raise task.exception()
            finally:
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
        finally:
            await transport.close()
        return self.results

    async def _one(self, transport: Transport, limiter: Limiter, chunk: list[tuple[str, str]]) -> None:
        from lamini_lm.teacher.client import backoff_delay, retry_after
        from lamini_lm.teacher.transport import SendError

        settings = self.settings
        body = {"model": self.model, "input": [text for _, text in chunk]}
        # The limiter paces by requests and (approximate) tokens, as for chat requests.
        job = Job("", [], None, 0, None, sum(count_tokens(text) for _, text in chunk))
        attempts = 0
        while True:
            attempts += 1
            ticket = await limiter.acquire(job)
            delay: float | None = None
            self.stats["requests"] += 1
            try:
                reply = await transport.post(body)
            except SendError as exc:
                if exc.refused and not self.reached:
                    raise TeacherUnreachableError(
                        f"The moderation endpoint {endpoint(settings).rstrip('/')}{MODERATION_PATH} is unreachable "
                        f"({exc}). Check params:teacher.base_url (now {settings.base_url!r}; null = OpenAI's API) "
                        "and that the server there is running."
                    ) from None
                reply, kind, message = None, exc.kind, str(exc)
            finally:
                limiter.done(job)
            if reply is not None:
                self.reached = True
                limiter.observe(reply.headers, ticket)
                if 200 <= reply.status < 300:
                    try:
                        verdicts = read_moderation(reply.content, len(chunk), self.model)
                    except MalformedResponse as exc:
                        kind, message = "malformed_response", f"unreadable response body ({exc})"
                    else:
                        for (key, _), verdict in zip(chunk, verdicts):
                            self.cache.put(key, {"text": "flagged" if verdict["flagged"] else "not flagged", **verdict})
                            self.results[key] = {**verdict, "cached": False, "attempts": attempts}
                            self.results[key] |= {"error_kind": None, "error_message": None}
                        self.stats["answered"] += len(chunk)
                        return
                else:
                    kind, message = self._refusal(reply)
                    if is_permanent(reply.status):
                        self._fail(chunk, kind, message, attempts)
                        return
                    delay = retry_after(reply.headers)
            self.stats[f"retry:{kind}"] += 1
            if attempts > settings.max_retries:
                self._fail(chunk, kind, message or kind, attempts)
                return
            delay = backoff_delay(settings, attempts) if delay is None else delay * random.uniform(1.0, 1.1)
            await asyncio.sleep(delay)

    def _fail(self, chunk: list[tuple[str, str]], kind: str, message: str, attempts: int) -> None:
        for key, _ in chunk:
            self.results[key] = _failure(kind, message, attempts)
        self.stats[f"failed:{kind}"] += len(chunk)

    def _refusal(self, reply: Reply) -> tuple[str, str]:
        """``(kind, message)`` of an error answer; raises where retrying cannot help."""
        code, text = reply.error()
        if reply.status in (401, 403):
            raise TeacherAuthError(
                f"The moderation endpoint {endpoint(self.settings)} refused the credentials (HTTP {reply.status}). "
                "Set openai.api_key in conf/local/credentials.yml or export OPENAI_API_KEY. Nothing was retried; "
                "finished verdicts are kept in the cache."
            )
        if reply.status == 429 and code == "insufficient_quota":
            raise TeacherQuotaError(
                f"The moderation endpoint reports insufficient quota (HTTP 429 insufficient_quota): {redact(text)} "
                "Finished verdicts are kept in the cache."
            )
        if reply.status == 429:
            return "rate_limited", text
        return error_kind(code, reply.status), f"HTTP {reply.status}: {text}"


def moderate(
    texts: Iterable[str],
    teacher_settings: TeacherSettings | Mapping[str, Any],
    *,
    model: str,
    batch_size: int,
) -> pd.DataFrame:
    """Moderation verdicts for ``texts``, one row per text, in order (columns :data:`MODERATION_COLUMNS`).

    ``flagged`` (the endpoint's verdict), ``categories`` (category → flagged), ``category_scores``
    (category → score), ``moderation_model`` (the model that answered, e.g. ``omni-moderation-latest``,
    or ``replay:…`` for the replay teacher's recorded verdicts); ``cached``, ``attempts``; ``error_kind``
    / ``error_message`` for a text with no verdict (null on success). ``model`` is the moderation model
    asked for; ``batch_size`` texts go in one request.
    """
    settings = load_settings(teacher_settings)
    if settings.backend == "transformers":
        raise ValueError(
            "Moderation needs an OpenAI-compatible endpoint, and params:teacher.backend is 'transformers' "
            "(a local model, no /moderations). Set teacher.backend: openai and teacher.base_url "
            "(null = OpenAI's API), or choose a transformers classifier for evaluation.toxicity.classifier."
        )
    if batch_size < 1:
        raise ValueError(f"moderation batch_size must be at least 1, got {batch_size}.")
    texts = [str(text) for text in texts]
    keys = [moderation_key(model, text) for text in texts]
    unique = dict(zip(keys, texts))
    started = time.monotonic()
    cache = ResultCache(settings.cache_path)
    try:
        hits = cache.get_many(unique)
        results: dict[str, dict[str, Any]] = {
            key: {k: v for k, v in record.items() if k != "text"}
            | {"cached": True, "attempts": 0, "error_kind": None, "error_message": None}
            for key, record in hits.items()
        }
        pending = [(key, text) for key, text in unique.items() if key not in hits]
        logger.info(
            "Moderation (%s at %s): %d texts, %d unique, %d cached, %d to send in requests of up to %d%s. "
            "Moderation is free at OpenAI: no cost is counted and max_cost_usd does not apply.",
            model,
            endpoint(settings),
            len(texts),
            len(unique),
            len(hits),
            len(pending),
            batch_size,
            " (dry run: nothing is sent)" if settings.dry_run else "",
        )
        moderator = _Moderator(settings, cache, model)
        if settings.dry_run:
            results |= {key: _failure("dry_run", "dry_run: not sent") for key, _ in pending}
        elif pending:
            try:
                results |= run_coroutine(lambda: moderator.run(pending, batch_size))
            finally:
                failed = {k.split(":", 1)[1]: v for k, v in moderator.stats.items() if k.startswith("failed:")}
                logger.info(
                    "Moderation summary: %d requests sent, %d texts answered, %d cached, %d failed%s, %.1f s.",
                    moderator.stats["requests"],
                    moderator.stats["answered"],
                    len(hits),
                    sum(failed.values()),
                    f" {failed}" if failed else "",
                    time.monotonic() - started,
                )
    finally:
        cache.close()
    frame = pd.DataFrame([results[key] for key in keys], columns=MODERATION_COLUMNS)
    frame["cached"] = frame["cached"].astype(bool)
    frame["attempts"] = frame["attempts"].astype("int64")
    return frame
