"""The ``openai`` backend: any OpenAI-compatible chat-completions endpoint through ``AsyncOpenAI``.

Bounded concurrency (a fixed pool of workers), request- and token-per-minute buckets, adaptive
pauses from ``x-ratelimit-*`` headers, retries with exponential backoff and full jitter on 429,
5xx, timeouts, dropped connections and malformed bodies (honouring ``retry-after-ms`` /
``Retry-After``). 4xx other than 408/409/429 are recorded for that request and not retried;
401/403 stop the whole run. The client's own retries are off so every attempt is counted here.

The requests travel over a transport (:mod:`lamini_lm.teacher.transport`, ``teacher.transport``);
everything here works on its :class:`~lamini_lm.teacher.transport.Reply`, whichever it is.
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time
from typing import Any

from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.credentials import redact
from lamini_lm.teacher.run import Job, Run, TeacherAuthError, TeacherQuotaError, TeacherUnreachableError
from lamini_lm.teacher.transport import TRANSPORTS, Reply, SendError, Transport
from lamini_lm.teacher.wire import MalformedResponse, endpoint, error_kind, is_permanent, read_completion

logger = logging.getLogger(__name__)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: str | None) -> float | None:
    """Seconds in an ``x-ratelimit-reset-*`` value such as ``"6m0s"``, ``"1.5s"`` or ``"20ms"``."""
    if not value:
        return None
    parts = _DURATION.findall(value.strip())
    if not parts:
        try:
            return float(value)
        except ValueError:
            return None
    return sum(float(n) * _UNITS[u] for n, u in parts)


def retry_after(headers: Any) -> float | None:
    """Seconds the endpoint asked us to wait (``retry-after-ms`` first, then ``Retry-After``)."""
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        value = headers.get(name)
        if value:
            try:
                return max(0.0, float(value) * scale)
            except ValueError:
                continue
    return None


class TokenBucket:
    """``per_minute`` units refilled continuously, one second's worth of burst."""

    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate)
        self.level = self.capacity
        self.updated = time.monotonic()
        self.lock = asyncio.Lock()

    async def take(self, amount: float) -> None:
        async with self.lock:
            need = min(amount, self.capacity)
            while True:
                now = time.monotonic()
                self.level = min(self.capacity, self.level + (now - self.updated) * self.rate)
                self.updated = now
                if self.level >= need:
                    self.level -= amount  # may go negative: a large request is paid off before the next
                    return
                await asyncio.sleep((need - self.level) / self.rate)


class Limiter:
    """Configured buckets plus what the endpoint says about its own limits.

    ``x-ratelimit-remaining-*`` describes the endpoint's view when it answered; requests this
    client sent after the answered one may not be counted there yet, so they are subtracted. When
    the window resets the allowance becomes ``x-ratelimit-limit-*`` (if given), not unlimited.
    """

    def __init__(self, settings: TeacherSettings):
        self.requests = TokenBucket(settings.requests_per_minute) if settings.requests_per_minute else None
        self.tokens = TokenBucket(settings.tokens_per_minute) if settings.tokens_per_minute else None
        self.remaining = {"requests": None, "tokens": None}
        self.limit = {"requests": None, "tokens": None}
        self.reset_at = {"requests": 0.0, "tokens": 0.0}
        self.window = {"requests": 0.0, "tokens": 0.0}  # longest reset seen: the endpoint's window
        self.sent = {"requests": 0.0, "tokens": 0.0}
        self.in_flight = {"requests": 0.0, "tokens": 0.0}
        self.adaptive_pauses = 0

    def _current(self, kind: str, now: float) -> float | None:
        if self.remaining[kind] is not None and now >= self.reset_at[kind]:
            # A new window: the full limit (None: unknown, so unlimited), less what is still in
            # flight — the endpoint may count those in the new window — until the next answer's
            # headers say more, or for one window at most.
            limit = self.limit[kind]
            self.remaining[kind] = None if limit is None else limit - self.in_flight[kind]
            self.reset_at[kind] = now + max(self.window[kind], 0.05) if limit is not None else 0.0
        return self.remaining[kind]

    async def acquire(self, job: Job) -> tuple[float, float]:
        """Wait for permission to send ``job``; returns a ticket for :meth:`observe`."""
        cost = {"requests": 1.0, "tokens": float(job.prompt_tokens_est + job.max_tokens)}
        paused = False
        while True:
            now = time.monotonic()
            wait = 0.0
            for kind in ("requests", "tokens"):
                remaining = self._current(kind, now)
                if remaining is not None and remaining < min(cost[kind], self.limit[kind] or cost[kind]):
                    wait = max(wait, self.reset_at[kind] - now, 0.001)
            if wait <= 0:
                break
            paused = True
            await asyncio.sleep(wait)
        if paused:
            self.adaptive_pauses += 1
        for kind in ("requests", "tokens"):
            self.sent[kind] += cost[kind]
            self.in_flight[kind] += cost[kind]
            if self.remaining[kind] is not None:
                self.remaining[kind] -= cost[kind]
        ticket = (self.sent["requests"], self.sent["tokens"])
        if self.requests:
            await self.requests.take(1)
        if self.tokens:
            await self.tokens.take(cost["tokens"])
        return ticket

    def done(self, job: Job) -> None:
        """An attempt of ``job`` is over (answered or failed)."""
        self.in_flight["requests"] -= 1.0
        self.in_flight["tokens"] -= float(job.prompt_tokens_est + job.max_tokens)

    def observe(self, headers: Any, ticket: tuple[float, float] | None = None) -> None:
        """Adapt to ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` (OpenAI's names)."""
        now = time.monotonic()
        for i, kind in enumerate(("requests", "tokens")):
            remaining = headers.get(f"x-ratelimit-remaining-{kind}")
            reset = parse_duration(headers.get(f"x-ratelimit-reset-{kind}"))
            limit = headers.get(f"x-ratelimit-limit-{kind}")
            try:
                if limit is not None:
                    self.limit[kind] = float(limit)
                if remaining is None or reset is None:
                    continue
                value = float(remaining)
            except ValueError:
                continue
            self.window[kind] = max(self.window[kind], reset)
            if ticket is not None:
                value -= self.sent[kind] - ticket[i]  # sent after this one: maybe not counted yet
            reset_at = now + reset * 1.02 + 0.005
            current = self._current(kind, now)
            if current is not None and now < self.reset_at[kind]:
                value = min(current, value)  # answers arrive out of order
                reset_at = max(reset_at, self.reset_at[kind])
            self.remaining[kind] = value
            self.reset_at[kind] = reset_at


def backoff_delay(settings: TeacherSettings, attempt: int) -> float:
    """Seconds to wait before retry ``attempt``: full jitter under a doubling, capped ceiling."""
    ceiling = min(settings.backoff_max_s, settings.backoff_base_s * 2 ** (attempt - 1))
    return random.uniform(0.0, ceiling)  # full jitter


class OpenAIBackend:
    """Sends each job as one chat-completions request."""

    def __init__(self, settings: TeacherSettings):
        self.settings = settings

    async def run(self, jobs: list[Job], run: Run) -> None:
        transport = TRANSPORTS[self.settings.transport](self.settings)
        limiter = Limiter(self.settings)
        queue = list(reversed(jobs))
        interrupts = run.interrupts
        self._sending: set[asyncio.Task] = set()

        async def worker() -> None:
            while queue and not (interrupts is not None and interrupts.draining):
                await self._one(transport, limiter, queue.pop(), run)

        with run.cache.grouped():  # one commit per loop iteration; all committed before this returns
            tasks = {asyncio.create_task(worker()) for _ in range(min(self.settings.max_concurrency, len(jobs)))}
            drain = asyncio.create_task(interrupts.attach().wait()) if interrupts is not None else None
            try:
                running = set(tasks)
                while running:
                    done, _ = await asyncio.wait(
                        running | ({drain} if drain else set()), return_when=asyncio.FIRST_COMPLETED
                    )
                    for task in done & running:
                        if not task.cancelled() and task.exception() is not None:
                            raise task.exception()
                    running -= done
                    if drain is not None and drain in done:
                        await self._drain(running, run)
                        break
            finally:
                for task in (*tasks, *([drain] if drain else [])):
                    task.cancel()
                await asyncio.gather(*tasks, *([drain] if drain else []), return_exceptions=True)
                await transport.close()
        if limiter.adaptive_pauses:
            logger.info("Teacher paused %d times on the endpoint's x-ratelimit headers.", limiter.adaptive_pauses)
        if interrupts is not None and interrupts.draining:
            interrupts.take_effect()

    async def _drain(self, running: set[asyncio.Task], run: Run) -> None:
        """Cancel the workers that are waiting (backoff, rate limits, their marks' commit); wait up to
        ``drain_timeout_s`` for those with a request in flight, logging progress each second; commit
        their answers before returning."""
        for task in running - self._sending:
            task.cancel()
        deadline = time.monotonic() + self.settings.drain_timeout_s
        waiting = running & self._sending
        while waiting:
            left = deadline - time.monotonic()
            if left <= 0:
                logger.warning(
                    "Teacher: %d request(s) still in flight after drain_timeout_s=%.0f s; stopping without them "
                    "(the next run reports them as possibly paid twice).",
                    len(waiting),
                    self.settings.drain_timeout_s,
                )
                run.cache.flush()
                return
            logger.info("Teacher: stopping — %d request(s) in flight, waiting up to %.0f s.", len(waiting), left)
            done, waiting = await asyncio.wait(waiting, timeout=min(1.0, left))
            for task in done:
                if not task.cancelled() and task.exception() is not None:
                    raise task.exception()
        run.cache.flush()
        logger.info("Teacher: every request in flight has finished and is committed; stopping.")

    async def _one(self, transport: Transport, limiter: Limiter, job: Job, run: Run) -> None:
        settings = self.settings
        reserved = run.budget.reserve(job)
        if reserved is None:
            run.failure(job, "budget_exceeded", f"not sent: would exceed max_cost_usd={settings.max_cost_usd}")
            return
        started = time.monotonic()
        body = job.body(settings.model)
        attempts = 0
        maybe_paid = False  # the last attempt got no answer: the endpoint may have billed it
        interrupts = run.interrupts
        task = asyncio.current_task()
        posting = False
        try:
            while True:
                attempts += 1
                ticket = await limiter.acquire(job)
                delay: float | None = None
                if not (interrupts is not None and interrupts.draining):
                    await run.sending(job)  # its mark is committed before the request leaves
                if interrupts is not None and interrupts.draining:  # stopping: nothing new leaves
                    limiter.done(job)
                    run.budget.settle(reserved, 0.0)
                    if not maybe_paid:
                        run.unmark(job)
                    return
                self._sending.add(task)
                posting = True
                try:
                    reply = await transport.post(body)
                    posting = False
                except SendError as exc:
                    if exc.refused and not run.reached:
                        run.unmark(job)
                        raise TeacherUnreachableError(
                            f"The teacher endpoint {endpoint(settings)} is unreachable ({exc}). Check "
                            f"params:teacher.base_url (now {settings.base_url!r}; null = OpenAI's API) and that the "
                            "server there is running. Nothing was retried."
                        ) from None
                    posting = False
                    reply, kind, message = None, exc.kind, str(exc)
                    maybe_paid = not exc.refused
                finally:
                    self._sending.discard(task)
                    limiter.done(job)
                if reply is not None:
                    run.reached = True
                    maybe_paid = False
                    limiter.observe(reply.headers, ticket)
                    if 200 <= reply.status < 300:
                        outcome = self._read(reply)
                        if isinstance(outcome, dict):
                            run.success(
                                job,
                                **outcome,
                                latency_s=time.monotonic() - started,
                                attempts=attempts,
                                reserved=reserved,
                            )
                            return
                        kind, message = "malformed_response", outcome
                    else:
                        kind, message = self._refusal(reply, run, reserved)
                        if is_permanent(reply.status):
                            run.failure(
                                job,
                                kind,
                                message,
                                attempts=attempts,
                                latency_s=time.monotonic() - started,
                                reserved=reserved,
                            )
                            return
                        delay = retry_after(reply.headers)
                run.stats[f"retry:{kind}"] += 1
                if attempts > settings.max_retries:
                    run.failure(
                        job,
                        kind,
                        redact(message) or kind,
                        attempts=attempts,
                        latency_s=time.monotonic() - started,
                        reserved=reserved,
                        maybe_paid=maybe_paid,
                    )
                    return
                if delay is None:
                    delay = backoff_delay(settings, attempts)
                else:
                    delay *= random.uniform(1.0, 1.1)
                await asyncio.sleep(delay)
        except asyncio.CancelledError:
            if not (posting or maybe_paid):  # cancelled while waiting: nothing of this request is outstanding
                run.unmark(job)
            raise

    def _read(self, reply: Reply) -> dict[str, Any] | str:
        """The result fields of a 2xx answer, or why its body is unreadable."""
        try:
            return read_completion(reply.content, self.settings.model)
        except MalformedResponse as exc:
            return f"unreadable response body ({exc})"

    def _refusal(self, reply: Reply, run: Run, reserved: float) -> tuple[str, str]:
        """``(kind, message)`` of an error answer; raises where retrying cannot help the run."""
        status = reply.status
        code, text = reply.error()
        if status in (401, 403):
            run.budget.settle(reserved, 0.0)
            raise TeacherAuthError(
                f"The teacher endpoint {endpoint(self.settings)} refused the "
                f"credentials (HTTP {status}). Set openai.api_key in conf/local/credentials.yml "
                "or export OPENAI_API_KEY. Nothing was retried; finished results are kept in the cache."
            )
        if status == 429:
            if code == "insufficient_quota":  # billing, not pacing: retrying cannot help
                run.budget.settle(reserved, 0.0)
                raise TeacherQuotaError(
                    f"The teacher endpoint reports insufficient quota (HTTP 429 insufficient_quota): "
                    f"{redact(text)} Finished results are kept in the cache."
                )
            return "rate_limited", text
        return error_kind(code, status), f"HTTP {status}: {text}"
