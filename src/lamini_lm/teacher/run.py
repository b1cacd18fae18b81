"""What every backend works with: the unique request (:class:`Job`), the spending cap
(:class:`Budget`) and the run ledger (:class:`Run`) that commits each result as it arrives.
"""

from __future__ import annotations

import collections
import math
from dataclasses import dataclass, field
from typing import Any

from lamini_lm.teacher.cache import ResultCache
from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.credentials import redact

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
# Failure kinds of requests that were never sent: they say nothing about the endpoint.
NOT_SENT = frozenset({"budget_exceeded", "dry_run", "teacher_unavailable"})
# Budget reservations assume real prompts may tokenise to 1.5x the approximate count.
PROMPT_RESERVE_FACTOR = 1.5


class TeacherAuthError(RuntimeError):
    """The endpoint refused the credentials (401/403): the run stops at once, nothing is retried."""


class TeacherQuotaError(RuntimeError):
    """The endpoint says the account is out of quota (429 ``insufficient_quota``): the run stops."""


class TeacherUnavailable(RuntimeError):
    """Nothing the run sends can succeed: it stops at once, naming ``teacher.base_url``."""


class TeacherUnreachableError(TeacherUnavailable):
    """No connection could be made to the endpoint (refused, unknown host) before it answered anything."""


class AllRequestsFailed(TeacherUnavailable):
    """Every request of a pipeline step failed: the step fails instead of saving an empty output."""


class TeacherDryRun(Exception):
    """``teacher.dry_run: true``: the run stops after projecting the first teacher step; nothing was sent."""


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


def price_factor(settings: TeacherSettings) -> float:
    """The share of list price the backend pays: ``price.batch_discount`` for the Batch API, else 1."""
    return settings.price.batch_discount if settings.backend == "openai_batch" else 1.0


class Budget:
    """A hard spending cap: a request is sent only if its worst-case cost still fits."""

    def __init__(self, settings: TeacherSettings):
        factor = price_factor(settings)
        self.limit = settings.max_cost_usd
        self.price_in = settings.price.input_per_million * factor / 1e6
        self.price_out = settings.price.output_per_million * factor / 1e6
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
    cached: int = 0  # answers this call took from the cache
    reached: bool = False  # the endpoint has answered something (any status) in this call
    interrupts: Any = None  # the call's Interrupts (Ctrl-C / SIGTERM drain), where the backend drains
    _bar: Any = None
    inherited: set = field(default_factory=set)  # keys an earlier run left in flight: marked until answered
    _journalled: set = field(default_factory=set)
    _failed_kinds: collections.Counter = field(default_factory=collections.Counter)

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
        # Also clears the key's in-flight mark, in the same transaction (this loop iteration's, if grouped).
        self.cache.put(job.key, record)
        self._journalled.discard(job.key)
        self._count(job.key, {**record, "cached": False, "error_kind": None, "error_message": None})

    async def sending(self, job: Job) -> None:
        """Mark ``job`` in flight in the cache before its first attempt, returning once the mark is
        committed (grouped with the other marks and answers of this loop iteration under
        :meth:`ResultCache.grouped`): a run killed after the send may already have paid for it, and the
        next run says so (:meth:`ResultCache.in_flight`)."""
        if job.key not in self._journalled and job.key not in self.inherited:
            self._journalled.add(job.key)  # before the await: a cancelled sender's :meth:`unmark` drops it
            await self.cache.mark_in_flight_grouped(job.key, self.budget.cost(job.prompt_tokens_est, job.max_tokens))

    def unmark(self, job: Job) -> None:
        """``job`` is not outstanding after all (not sent, or its last attempt was answered with an error).
        A mark an earlier run left stays until an answer is committed: that run may have paid for it."""
        if job.key in self._journalled and job.key not in self.inherited:
            self.cache.clear_in_flight(job.key)
            self._journalled.discard(job.key)

    def failure(
        self,
        job: Job,
        kind: str,
        message: str,
        *,
        attempts: int = 0,
        latency_s: float = 0.0,
        reserved: float = 0.0,
        maybe_paid: bool = False,
    ) -> None:
        """Record a failed request; ``maybe_paid``: its last attempt got no answer (a timeout, a dropped
        connection), so the endpoint may have billed it — its in-flight mark stays for the next run."""
        self.budget.settle(reserved, 0.0)
        if not maybe_paid:
            self.unmark(job)
        result = {
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
        self._count(job.key, result)

    def add_reported(self, key: str, result: dict[str, Any]) -> None:
        """A result another run reported (a worker process, which committed and settled it there)."""
        if result["error_kind"] is None:
            self.budget.spent += result["cost_usd"]
        elif result["error_kind"] == "budget_exceeded":
            self.budget.refused += 1
        self._count(key, result)

    def _count(self, key: str, result: dict[str, Any]) -> None:
        self.results[key] = result
        if result["error_kind"] is None:
            self.stats["sent_ok"] += 1
            self.stats["prompt_tokens"] += result["prompt_tokens"]
            self.stats["completion_tokens"] += result["completion_tokens"]
        else:
            self.stats[f"failed:{result['error_kind']}"] += 1
            self._check_fail_fast(result)
        self._bar.update(1)
        done = self._bar.n
        if not self._bar.disable and (done % 25 == 0 or done == self.total):
            self._bar.set_postfix(
                tok=self.stats["prompt_tokens"] + self.stats["completion_tokens"],
                cost=f"${self.budget.spent:.4f}",
                refresh=False,
            )

    def _check_fail_fast(self, result: dict[str, Any]) -> None:
        """``fail_fast_after`` requests finished, all failed the same way, nothing answered yet
        (neither from the cache nor by the endpoint): raise :class:`TeacherUnavailable`."""
        limit = self.settings.fail_fast_after
        kind = result["error_kind"]
        if limit is None or kind in NOT_SENT or self.cached or self.stats["sent_ok"]:
            return
        self._failed_kinds[kind] += 1
        if len(self._failed_kinds) == 1 and self._failed_kinds[kind] >= limit:
            raise TeacherUnavailable(
                f"The first {limit} teacher requests all failed with {kind!r} and none was answered "
                f"(last: {result['error_message']}). Check params:teacher.base_url (now "
                f"{self.settings.base_url!r}; null = OpenAI's API), teacher.model ({self.settings.model!r}) "
                "and the credentials; the run stops instead of sending the rest "
                "(teacher.fail_fast_after sets how many)."
            )

    def close(self) -> None:
        self._bar.close()
