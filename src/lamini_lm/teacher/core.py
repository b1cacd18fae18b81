"""``complete()`` and ``project_cost()``: the one door to a teacher LLM.

A table of chat requests goes in, a table of results comes out. Requests are deduplicated by
content hash, served from the durable cache where possible, and the rest go to the configured
backend. Every success is committed to the cache the moment it arrives.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Mapping
from typing import Any

import pandas as pd

from lamini_lm.teacher.cache import ResultCache
from lamini_lm.teacher.config import TeacherSettings, load_settings
from lamini_lm.teacher.interrupts import Interrupts
from lamini_lm.teacher.requests import parse_requests, unique_jobs
from lamini_lm.teacher.run import (
    RESULT_COLUMNS,
    AllRequestsFailed,
    Budget,
    Job,
    Run,
    TeacherUnavailable,
    price_factor,
)
from lamini_lm.teacher.wire import endpoint

logger = logging.getLogger(__name__)


def _projection(jobs: list[Job], settings: TeacherSettings) -> dict[str, Any]:
    budget = Budget(settings)
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
        "discount": price_factor(settings),
        "max_cost_usd": settings.max_cost_usd,
    }


def project_cost(requests: pd.DataFrame, teacher_settings: TeacherSettings | Mapping[str, Any]) -> dict[str, Any]:
    """Projected tokens and cost of the requests the cache cannot answer; sends nothing.

    Prompt tokens are the approximate count of :mod:`lamini_lm.teacher.tokens`; completion tokens
    are the upper bound ``max_tokens`` per request, so ``projected_cost_usd`` is a ceiling.
    """
    settings = load_settings(teacher_settings)
    _, jobs = parse_requests(requests, settings)
    unique = unique_jobs(jobs)
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


def run_coroutine(factory):
    """Run an async backend from synchronous code (a Kedro node), even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def complete(requests: pd.DataFrame, teacher_settings: TeacherSettings | Mapping[str, Any]) -> pd.DataFrame:
    """Answer chat ``requests`` with the configured teacher; one result row per request, same order.

    Columns: ``request_id, text, finish_reason, prompt_tokens, completion_tokens, cost_usd,
    latency_s, attempts, cached, error_kind, error_message, teacher_model``. ``error_kind`` is
    null on success. ``dry_run`` sends nothing and marks unanswered rows ``error_kind="dry_run"``;
    requests that would break ``max_cost_usd`` get ``"budget_exceeded"``. An endpoint where nothing
    can succeed (a refused connection before any answer; the first ``fail_fast_after`` requests all
    failing the same way) stops the call at once: the rest get ``"teacher_unavailable"`` with the
    reason — :func:`require_answers` turns that into an error for a pipeline step. A 401/403 raises
    :class:`TeacherAuthError` and an exhausted quota :class:`TeacherQuotaError`. The first Ctrl-C or
    SIGTERM drains (:mod:`lamini_lm.teacher.interrupts`), then raises ``KeyboardInterrupt`` /
    ``SystemExit``. ``frame.attrs["teacher"]`` holds the call's projection and what it found in
    flight from an earlier, killed run (``possibly_paid_twice``, ``possibly_paid_twice_usd``).
    """
    settings = load_settings(teacher_settings)
    ids, jobs = parse_requests(requests, settings)
    unique = unique_jobs(jobs)
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
        earlier = {} if settings.dry_run else cache.in_flight(j.key for j in pending)
        if earlier:
            logger.warning(
                "Teacher: %d of the requests to send were in flight when an earlier run stopped without their "
                "answers (killed?). The endpoint may already have answered and billed them: sending them again "
                "may pay twice for them (<= $%.4f at max_tokens each).",
                len(earlier),
                sum(earlier.values()),
            )
        report = {
            **projection,
            "cached": len(hits),
            "dry_run": settings.dry_run,
            "possibly_paid_twice": len(earlier),
            "possibly_paid_twice_usd": sum(earlier.values()),
            "possibly_paid_twice_keys": sorted(earlier),
        }
        run = Run(settings, cache, Budget(settings), total=len(pending), cached=len(hits), inherited=set(earlier))
        interrupted = False
        try:
            if settings.dry_run:
                logger.warning(
                    "Teacher dry run: nothing sent (teacher.dry_run: true). %d request(s) would be sent: "
                    "~%d prompt tokens, <= %d completion tokens, <= $%.4f.",
                    len(pending),
                    projection["prompt_tokens"],
                    projection["max_completion_tokens"],
                    projection["projected_cost_usd"],
                )
                for job in pending:
                    run.failure(job, "dry_run", "dry_run: not sent")
            elif pending:
                _send(pending, run, settings)
        except TeacherUnavailable as exc:
            logger.error("Teacher stopped: %s", exc)
            report["unavailable"] = str(exc)
            for job in pending:
                if job.key not in run.results:
                    run.results[job.key] = _unsent(str(exc))
        except (KeyboardInterrupt, SystemExit):
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
    frame.attrs["teacher"] = report
    return frame


def _send(pending: list[Job], run: Run, settings: TeacherSettings) -> None:
    """``pending`` through the configured backend; the ``openai`` backend drains on Ctrl-C / SIGTERM."""
    if settings.backend != "openai":  # the Batch API resumes its recorded batches; a local model costs nothing
        backend = _backend(settings)
        run_coroutine(lambda: backend.run(pending, run))
        return
    with Interrupts().installed() as interrupts:
        run.interrupts = interrupts
        if settings.client_processes > 1:
            from lamini_lm.teacher.shard import run_sharded

            run_sharded(pending, run)
        else:
            backend = _backend(settings)
            run_coroutine(lambda: backend.run(pending, run))


def _unsent(reason: str) -> dict[str, Any]:
    return {
        "text": None,
        "finish_reason": None,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "cost_usd": 0.0,
        "latency_s": 0.0,
        "attempts": 0,
        "cached": False,
        "error_kind": "teacher_unavailable",
        "error_message": reason,
        "teacher_model": None,
    }


def require_answers(results: pd.DataFrame, teacher_settings: TeacherSettings | Mapping[str, Any], step: str) -> None:
    """Fail pipeline step ``step`` when its teacher results hold no answer at all, so Kedro saves nothing
    over the step's previous output: :class:`TeacherUnavailable` when the call stopped early (unreachable,
    failing the same way), else :class:`AllRequestsFailed`. A dry run (rows ``error_kind="dry_run"``) is not
    a failure: the teacher hook stops the run after the step. Rows without an ``error_kind`` are answers."""
    if results.empty or "error_kind" not in results.columns:
        return
    kinds = results["error_kind"]
    if kinds.isna().any() or kinds.eq("dry_run").any():
        return
    settings = load_settings(teacher_settings)
    messages = results["error_message"] if "error_message" in results.columns else pd.Series("", index=results.index)
    unavailable = kinds.eq("teacher_unavailable")
    if unavailable.any():
        raise TeacherUnavailable(f"{step}: {messages[unavailable].iloc[0]}")
    counts = kinds.value_counts().to_dict()
    raise AllRequestsFailed(
        f"{step}: every one of the {len(results)} teacher request(s) failed, by kind {counts}; first error: "
        f"{str(messages.iloc[0])[:300]}. Check params:teacher.base_url (now {endpoint(settings)}), teacher.model "
        f"({settings.model!r}), the credentials and teacher.max_cost_usd; the step's previous output is left as it "
        "was, and answers are cached, so a re-run pays only for what is missing."
    )


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
