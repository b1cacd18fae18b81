"""``complete()`` and ``project_cost()``: the one door to a teacher LLM.

A table of chat requests goes in, a table of results comes out. Requests are deduplicated by
content hash, served from the durable cache where possible, and the rest go to the configured
backend. Every success is committed to the cache the moment it arrives.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import logging
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lamini_lm.teacher.cache import ResultCache
from lamini_lm.teacher.config import TeacherSettings, load_settings
from lamini_lm.teacher.credentials import redact
from lamini_lm.teacher.tokens import count_prompt_tokens, request_key

logger = logging.getLogger(__name__)

RESULT_COLUMNS = [
    "request_id",
    "text",
    "finish_reason",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "latency_s",
    "attempts",
    "cached",
    "error_kind",
    "error_message",
    "teacher_model",
]
# Budget reservations assume real prompts may tokenise to 1.5x the approximate count.
PROMPT_RESERVE_FACTOR = 1.5


class TeacherAuthError(RuntimeError):
    """The endpoint refused the credentials (401/403): the run stops at once, nothing is retried."""


class TeacherQuotaError(RuntimeError):
    """The endpoint says the account is out of quota (429 ``insufficient_quota``): the run stops."""


@dataclass
class Job:
    """One unique request (requests with identical content share a job)."""

    key: str
    messages: list[dict[str, str]]
    temperature: float | None
    max_tokens: int
    top_p: float | None
    prompt_tokens_est: int

    def body(self, model: str) -> dict[str, Any]:
        """The chat-completions request body."""
        body: dict[str, Any] = {"model": model, "messages": self.messages, "max_tokens": self.max_tokens}
        if self.temperature is not None:
            body["temperature"] = self.temperature
        if self.top_p is not None:
            body["top_p"] = self.top_p
        return body


class Budget:
    """A hard spending cap: a request is sent only if its worst-case cost still fits."""

    def __init__(self, settings: TeacherSettings, discount: float = 1.0):
        self.limit = settings.max_cost_usd
        self.price_in = settings.price.input_per_million * discount / 1e6
        self.price_out = settings.price.output_per_million * discount / 1e6
        self.spent = 0.0
        self.reserved = 0.0
        self.refused = 0

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return prompt_tokens * self.price_in + completion_tokens * self.price_out

    def worst_case(self, job: Job) -> float:
        return self.cost(math.ceil(job.prompt_tokens_est * PROMPT_RESERVE_FACTOR), job.max_tokens)

    def reserve(self, job: Job) -> float | None:
        """Reserve the job's worst-case cost; ``None`` if that would break the cap."""
        amount = self.worst_case(job)
        if self.limit is not None and self.spent + self.reserved + amount > self.limit + 1e-12:
            self.refused += 1
            return None
        self.reserved += amount
        return amount

    def settle(self, reserved: float, actual: float) -> None:
        self.reserved -= reserved
        self.spent += actual


@dataclass
class Run:
    """What backends report to: commits results, keeps the budget, the progress bar and stats."""

    settings: TeacherSettings
    cache: ResultCache
    budget: Budget
    total: int
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    stats: collections.Counter = field(default_factory=collections.Counter)
    _bar: Any = None

    def __post_init__(self) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=self.total,
            desc="teacher",
            unit="req",
            disable=not self.settings.progress,
            dynamic_ncols=True,
            leave=True,
        )

    def success(
        self,
        job: Job,
        *,
        text: str,
        finish_reason: str | None,
        prompt_tokens: int,
        completion_tokens: int,
        teacher_model: str,
        latency_s: float,
        attempts: int,
        reserved: float = 0.0,
    ) -> None:
        cost = self.budget.cost(prompt_tokens, completion_tokens)
        self.budget.settle(reserved, cost)
        record = {
            "text": text,
            "finish_reason": finish_reason,
            "prompt_tokens": int(prompt_tokens),
            "completion_tokens": int(completion_tokens),
            "cost_usd": cost,
            "latency_s": float(latency_s),
            "attempts": int(attempts),
            "teacher_model": teacher_model,
        }
        self.cache.put(job.key, record)
        self.results[job.key] = {**record, "cached": False, "error_kind": None, "error_message": None}
        self.stats["sent_ok"] += 1
        self.stats["prompt_tokens"] += int(prompt_tokens)
        self.stats["completion_tokens"] += int(completion_tokens)
        self._advance()

    def failure(
        self, job: Job, kind: str, message: str, *, attempts: int = 0, latency_s: float = 0.0, reserved: float = 0.0
    ) -> None:
        self.budget.settle(reserved, 0.0)
        self.results[job.key] = {
            "text": None,
            "finish_reason": None,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "cost_usd": 0.0,
            "latency_s": float(latency_s),
            "attempts": int(attempts),
            "cached": False,
            "error_kind": kind,
            "error_message": redact(message),
            "teacher_model": None,
        }
        self.stats[f"failed:{kind}"] += 1
        self._advance()

    def _advance(self) -> None:
        self._bar.update(1)
        done = self._bar.n
        if not self._bar.disable and (done % 25 == 0 or done == self.total):
            self._bar.set_postfix(
                tok=self.stats["prompt_tokens"] + self.stats["completion_tokens"],
                cost=f"${self.budget.spent:.4f}",
                refresh=False,
            )

    def close(self) -> None:
        self._bar.close()


# -- requests in ------------------------------------------------------------------------------
def _opt(value: Any, cast: type) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return cast(value)


def _messages(value: Any, request_id: str) -> list[dict[str, str]]:
    if isinstance(value, (str, bytes, Mapping)) or not (isinstance(value, Sequence) or hasattr(value, "tolist")):
        raise ValueError(f"Request {request_id!r}: 'messages' must be a list of {{'role', 'content'}} dicts.")
    items = value.tolist() if hasattr(value, "tolist") else list(value)
    if not items:
        raise ValueError(f"Request {request_id!r}: 'messages' is empty.")
    out = []
    for i, message in enumerate(items):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise ValueError(f"Request {request_id!r}: messages[{i}] must be a dict with 'role' and 'content'.")
        out.append({"role": str(message["role"]), "content": str(message["content"])})
    return out


def _jobs(requests: pd.DataFrame, settings: TeacherSettings) -> tuple[list[str], list[Job]]:
    """Request ids in order and one job per row (rows with equal content share a key)."""
    if not isinstance(requests, pd.DataFrame):
        raise TypeError(f"complete() takes a DataFrame of requests, got {type(requests).__name__}.")
    missing = [c for c in ("request_id", "messages") if c not in requests.columns]
    if missing:
        raise ValueError(f"Teacher requests lack column(s) {missing}; expected 'request_id' and 'messages'.")
    ids = [str(i) for i in requests["request_id"]]
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise ValueError(f"Teacher requests: request_id must be unique; repeated: {dupes[:5]}.")
    columns = {
        c: requests[c].tolist() if c in requests.columns else [None] * len(ids)
        for c in ("temperature", "max_tokens", "top_p")
    }
    jobs = []
    for row, (request_id, messages) in enumerate(zip(ids, requests["messages"].tolist())):
        msgs = _messages(messages, request_id)
        temperature = _opt(columns["temperature"][row], float)
        max_tokens = _opt(columns["max_tokens"][row], int)
        top_p = _opt(columns["top_p"][row], float)
        temperature = settings.temperature if temperature is None else temperature
        max_tokens = settings.max_tokens if max_tokens is None else max_tokens
        top_p = settings.top_p if top_p is None else top_p
        key = request_key(settings.model, msgs, temperature, max_tokens, top_p)
        jobs.append(Job(key, msgs, temperature, max_tokens, top_p, count_prompt_tokens(msgs)))
    return ids, jobs


def _unique(jobs: list[Job]) -> list[Job]:
    return list({job.key: job for job in jobs}.values())


def _discount(settings: TeacherSettings) -> float:
    return settings.price.batch_discount if settings.backend == "openai_batch" else 1.0


def _projection(jobs: list[Job], settings: TeacherSettings) -> dict[str, Any]:
    budget = Budget(settings, _discount(settings))
    prompt = sum(j.prompt_tokens_est for j in jobs)
    completion = sum(j.max_tokens for j in jobs)
    return {
        "requests": len(jobs),
        "prompt_tokens": prompt,
        "max_completion_tokens": completion,
        "projected_cost_usd": budget.cost(prompt, completion),
        "prompt_only_cost_usd": budget.cost(prompt, 0),
        "price_input_per_million": settings.price.input_per_million,
        "price_output_per_million": settings.price.output_per_million,
        "discount": _discount(settings),
        "max_cost_usd": settings.max_cost_usd,
    }


def project_cost(requests: pd.DataFrame, teacher_settings: TeacherSettings | dict[str, Any]) -> dict[str, Any]:
    """Projected tokens and cost of the requests the cache cannot answer; sends nothing.

    Prompt tokens are the approximate count of :mod:`lamini_lm.teacher.tokens`; completion tokens
    are the upper bound ``max_tokens`` per request, so ``projected_cost_usd`` is a ceiling.
    """
    settings = load_settings(teacher_settings)
    _, jobs = _jobs(requests, settings)
    unique = _unique(jobs)
    cache = ResultCache(settings.cache_path)
    try:
        cached = cache.get_many(j.key for j in unique)
    finally:
        cache.close()
    projection = _projection([j for j in unique if j.key not in cached], settings)
    projection["cached"] = len(unique) - projection["requests"]
    projection["total_requests"] = len(jobs)
    return projection


# -- running -------------------------------------------------------------------------------
def _backend(settings: TeacherSettings):
    if settings.backend == "openai":
        from lamini_lm.teacher.client import OpenAIBackend

        return OpenAIBackend(settings)
    if settings.backend == "openai_batch":
        from lamini_lm.teacher.batch import BatchBackend

        return BatchBackend(settings)
    from lamini_lm.teacher.local import TransformersBackend

    return TransformersBackend(settings)


def _run_coroutine(factory):
    """Run an async backend from synchronous code (a Kedro node), even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def complete(requests: pd.DataFrame, teacher_settings: TeacherSettings | dict[str, Any]) -> pd.DataFrame:
    """Answer chat ``requests`` with the configured teacher; one result row per request, same order.

    Columns: ``request_id, text, finish_reason, prompt_tokens, completion_tokens, cost_usd,
    latency_s, attempts, cached, error_kind, error_message, teacher_model``. ``error_kind`` is
    null on success. ``dry_run`` sends nothing and marks unanswered rows ``error_kind="dry_run"``;
    requests that would break ``max_cost_usd`` get ``"budget_exceeded"``. A 401/403 raises
    :class:`TeacherAuthError` and an exhausted quota :class:`TeacherQuotaError`; Ctrl-C raises ``KeyboardInterrupt`` after every finished result is
    committed to the cache.
    """
    settings = load_settings(teacher_settings)
    ids, jobs = _jobs(requests, settings)
    unique = _unique(jobs)
    started = time.monotonic()
    cache = ResultCache(settings.cache_path)
    try:
        hits = cache.get_many(j.key for j in unique)
        results: dict[str, dict[str, Any]] = {
            key: {
                **record,
                "cached": True,
                "error_kind": None,
                "error_message": None,
                "cost_usd": 0.0,
                "attempts": 0,
                "latency_s": 0.0,
            }
            for key, record in hits.items()
        }
        pending = [j for j in unique if j.key not in hits]
        projection = _projection(pending, settings)
        logger.info(
            "Teacher %s (%s): %d requests, %d unique, %d cached, %d to send; projected %d prompt tokens, "
            "<= %d completion tokens, <= $%.4f (cap: %s).",
            settings.model,
            settings.backend,
            len(jobs),
            len(unique),
            len(hits),
            len(pending),
            projection["prompt_tokens"],
            projection["max_completion_tokens"],
            projection["projected_cost_usd"],
            "none" if settings.max_cost_usd is None else f"${settings.max_cost_usd:.4f}",
        )
        run = Run(settings, cache, Budget(settings, _discount(settings)), total=len(pending))
        interrupted = False
        try:
            if settings.dry_run:
                for job in pending:
                    run.failure(job, "dry_run", "dry_run: not sent")
            elif pending and settings.backend == "openai" and settings.client_processes > 1:
                from lamini_lm.teacher.shard import run_sharded

                run_sharded(pending, run)
            elif pending:
                backend = _backend(settings)
                _run_coroutine(lambda: backend.run(pending, run))
        except KeyboardInterrupt:
            interrupted = True
            raise
        finally:
            run.close()
            results.update(run.results)
            _log_summary(settings, run, len(hits), time.monotonic() - started, interrupted)
    finally:
        cache.close()
    rows = [{"request_id": rid, **results[job.key]} for rid, job in zip(ids, jobs)]
    frame = pd.DataFrame(rows, columns=RESULT_COLUMNS)
    frame["prompt_tokens"] = frame["prompt_tokens"].astype("int64")
    frame["completion_tokens"] = frame["completion_tokens"].astype("int64")
    frame["attempts"] = frame["attempts"].astype("int64")
    frame["cached"] = frame["cached"].astype(bool)
    frame["cost_usd"] = frame["cost_usd"].astype(float)
    frame["latency_s"] = frame["latency_s"].astype(float)
    return frame


def _log_summary(settings: TeacherSettings, run: Run, cached: int, wall_s: float, interrupted: bool) -> None:
    failed = {k.split(":", 1)[1]: v for k, v in run.stats.items() if k.startswith("failed:")}
    logger.info(
        "Teacher summary%s: sent and answered %d, cached %d, failed %d%s, tokens %d in / %d out, cost $%.4f, %.1f s.",
        " (INTERRUPTED — finished results are kept in the cache)" if interrupted else "",
        run.stats["sent_ok"],
        cached,
        sum(failed.values()),
        f" {failed}" if failed else "",
        run.stats["prompt_tokens"],
        run.stats["completion_tokens"],
        run.budget.spent,
        wall_s,
    )
    if run.budget.refused:
        logger.warning(
            "Teacher budget cap $%.4f reached: %d requests not sent (error_kind=budget_exceeded).",
            settings.max_cost_usd,
            run.budget.refused,
        )
