"""``client_processes > 1``: the ``openai`` backend split across worker processes.

For fast endpoints (a local vLLM fleet, the replay teacher) one Python process runs out of CPU
before the endpoint runs out of capacity (~0.8 ms CPU per request here). Each worker
process gets every N-th request, ``1/N`` of the concurrency, rate limits and remaining budget,
commits to the same SQLite cache (WAL allows concurrent writers) and streams its results back,
so progress, summary and the result table are the parent's as usual. The API key reaches the
workers through the process pipe, never through files or the environment.
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
import multiprocessing
import queue as queue_module
import signal
import threading
import time
from typing import Any

from lamini_lm.teacher.cache import ResultCache
from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.credentials import get_api_key, register_api_key
from lamini_lm.teacher.interrupts import Interrupts
from lamini_lm.teacher.run import (
    Budget,
    Job,
    Run,
    TeacherAuthError,
    TeacherQuotaError,
    TeacherUnavailable,
    TeacherUnreachableError,
)

# spawn: workers start clean even when the parent has threads (Kedro's ThreadRunner, tqdm).
START_METHOD = "spawn"
_FATAL = {
    cls.__name__: cls for cls in (TeacherAuthError, TeacherQuotaError, TeacherUnavailable, TeacherUnreachableError)
}


class _ReportingRun(Run):
    """A worker's run: every result is also sent to the parent as it arrives."""

    outbox: Any = None

    def success(self, job: Job, **fields: Any) -> None:
        super().success(job, **fields)
        self.outbox.put(("result", job.key, self.results[job.key]))

    def failure(self, job: Job, kind: str, message: str, **fields: Any) -> None:
        super().failure(job, kind, message, **fields)
        self.outbox.put(("result", job.key, self.results[job.key]))


def _worker(
    index: int, settings_dump: dict, jobs: list[dict], api_key: str | None, outbox: Any, drain: Any, cached: int
) -> None:
    """A worker drains when the parent sets ``drain`` (never on a signal of its own: a terminal's Ctrl-C
    reaches the whole process group, and the parent decides)."""
    from lamini_lm.teacher.client import OpenAIBackend

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    register_api_key(api_key)
    settings = TeacherSettings.model_validate(settings_dump)
    cache = ResultCache(settings.cache_path)
    run = _ReportingRun(settings, cache, Budget(settings), total=len(jobs), cached=cached)
    run.outbox = outbox
    run.interrupts = Interrupts()
    threading.Thread(target=lambda: drain.wait() and run.interrupts.request(signal.SIGINT), daemon=True).start()
    try:
        asyncio.run(OpenAIBackend(settings).run([Job(**job) for job in jobs], run))
        outbox.put(("done", index, None))
    except tuple(_FATAL.values()) as exc:
        outbox.put(("fatal", type(exc).__name__, str(exc)))
    except KeyboardInterrupt:
        outbox.put(("done", index, "interrupted"))
    finally:
        run.close()
        cache.close()


def run_sharded(jobs: list[Job], run: Run) -> None:
    """Run ``jobs`` in ``settings.client_processes`` worker processes; results land in ``run``."""
    settings: TeacherSettings = run.settings
    n = min(settings.client_processes, len(jobs))
    share = {
        "max_concurrency": max(1, math.ceil(settings.max_concurrency / n)),
        "requests_per_minute": settings.requests_per_minute / n if settings.requests_per_minute else None,
        "tokens_per_minute": settings.tokens_per_minute / n if settings.tokens_per_minute else None,
        "max_cost_usd": None if run.budget.limit is None else max(0.0, run.budget.limit - run.budget.spent) / n,
        "progress": False,
        "client_processes": 1,
    }
    child = settings.model_copy(update=share).model_dump()
    ctx = multiprocessing.get_context(START_METHOD)
    outbox = ctx.Queue()
    drain = ctx.Event()
    procs = [
        ctx.Process(
            target=_worker,
            name=f"teacher-client-{i}",
            daemon=True,
            args=(i, child, [dataclasses.asdict(j) for j in jobs[i::n]], get_api_key(), outbox, drain, run.cached),
        )
        for i in range(n)
    ]
    for proc in procs:
        proc.start()
    running = set(range(n))
    interrupts: Interrupts | None = run.interrupts
    deadline = None
    try:
        while running:
            if interrupts is not None and interrupts.draining and deadline is None:
                drain.set()  # the workers stop sending and finish what is in flight
                deadline = time.monotonic() + settings.drain_timeout_s + 5.0
            if deadline is not None and time.monotonic() > deadline:
                break
            try:
                message = outbox.get(timeout=0.2 if deadline is not None else 1.0)
            except queue_module.Empty:
                dead = [i for i in running if not procs[i].is_alive() and procs[i].exitcode not in (0, None)]
                if dead:
                    raise RuntimeError(
                        f"teacher client process {dead[0]} died (exit code {procs[dead[0]].exitcode}); "
                        "finished results are in the cache — run again to resume."
                    ) from None
                continue
            if message[0] == "result":
                _, key, result = message
                run.add_reported(key, result)
            elif message[0] == "fatal":
                raise _FATAL[message[1]](message[2])
            elif message[0] == "done":
                running.discard(message[1])
                if message[2] == "interrupted" and deadline is None:
                    raise KeyboardInterrupt
        if interrupts is not None and interrupts.draining:
            interrupts.take_effect()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()
        for proc in procs:
            proc.join(10)
        outbox.close()
        outbox.join_thread()
