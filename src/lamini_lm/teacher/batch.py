"""The ``openai_batch`` backend: the OpenAI Batch API (half price, provider-side scale).

Writes the JSONL (``custom_id`` = the request's content hash), uploads it, creates the batch,
records the batch id in the cache *before* polling, polls with backoff, then downloads results and
errors. An interrupted run finds the recorded batch and collects it instead of paying again.
Requests that expired or failed with a retryable error are resubmitted — only those — for up to
``batch.max_rounds`` rounds; permanent errors (4xx) are recorded per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import openai

from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.run import Job, Run, TeacherAuthError
from lamini_lm.teacher.transport import openai_client
from lamini_lm.teacher.wire import BATCH_URL, MalformedResponse, endpoint, error_kind, is_permanent, read_completion

logger = logging.getLogger(__name__)
TERMINAL = {"completed", "expired", "failed", "cancelled"}
RETRYABLE_CODES = {"batch_expired", "batch_cancelled", "server_error", "rate_limit_exceeded", "timeout"}


class BatchPending(Exception):
    """A batch did not finish within ``batch.max_wait_s``; it stays recorded for the next run."""


class BatchBackend:
    """Runs jobs through ``/v1/files`` + ``/v1/batches``."""

    def __init__(self, settings: TeacherSettings):
        self.settings = settings
        self.endpoint = endpoint(settings)

    async def run(self, jobs: list[Job], run: Run) -> None:
        client = openai_client(self.settings, timeout=max(self.settings.timeout_s, 300.0), max_retries=3)
        self.started = time.monotonic()
        pending: dict[str, Job] = {}
        self.reserved: dict[str, float] = {}
        self.last_error: dict[str, tuple[str, str]] = {}
        for job in jobs:
            amount = run.budget.reserve(job)
            if amount is None:
                run.failure(job, "budget_exceeded", f"not sent: would exceed max_cost_usd={self.settings.max_cost_usd}")
            else:
                pending[job.key], self.reserved[job.key] = job, amount
        try:
            for batch_id, keys in run.cache.open_batches(self.endpoint, self.settings.model):
                if pending.keys() & set(keys):
                    logger.info(
                        "Resuming recorded batch %s (%d requests) instead of paying again.", batch_id, len(keys)
                    )
                    await self._collect(client, batch_id, pending, run, round_no=1)
            for round_no in range(1, self.settings.batch.max_rounds + 1):
                if not pending:
                    break
                size = self.settings.batch.max_requests_per_batch
                todo = list(pending.values())
                ids = [await self._submit(client, todo[i : i + size], run) for i in range(0, len(todo), size)]
                await asyncio.gather(*(self._collect(client, b, pending, run, round_no) for b in ids))
        except BatchPending as exc:
            for job in list(pending.values()):
                run.failure(job, "batch_pending", str(exc), reserved=self.reserved.pop(job.key, 0.0))
            pending.clear()
        except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
            raise TeacherAuthError(
                f"The Batch API at {self.endpoint} refused the credentials (HTTP {exc.status_code}). Set "
                "openai.api_key in conf/local/credentials.yml or export OPENAI_API_KEY."
            ) from None
        finally:
            await client.close()
        for job in pending.values():
            kind, message = self.last_error.get(job.key, ("batch_missing", "no result after all batch rounds"))
            run.failure(
                job, kind, message, attempts=self.settings.batch.max_rounds, reserved=self.reserved.pop(job.key, 0.0)
            )

    async def _submit(self, client: openai.AsyncOpenAI, jobs: list[Job], run: Run) -> str:
        lines = [
            json.dumps(
                {"custom_id": j.key, "method": "POST", "url": BATCH_URL, "body": j.body(self.settings.model)},
                ensure_ascii=False,
            )
            for j in jobs
        ]
        payload = ("\n".join(lines) + "\n").encode("utf-8")
        upload = await client.files.create(file=("teacher_batch.jsonl", payload), purpose="batch")
        batch = await client.batches.create(
            input_file_id=upload.id,
            endpoint=BATCH_URL,
            completion_window=self.settings.batch.completion_window,
            metadata={"project": "lamini_lm", "requests": str(len(jobs))},
        )
        run.cache.record_batch(batch.id, self.endpoint, self.settings.model, [j.key for j in jobs])
        logger.info("Submitted batch %s with %d requests (input file %s).", batch.id, len(jobs), upload.id)
        run.stats["batches_submitted"] += 1
        return batch.id

    async def _poll(self, client: openai.AsyncOpenAI, batch_id: str) -> Any:
        cfg = self.settings.batch
        interval = cfg.poll_interval_s
        while True:
            batch = await client.batches.retrieve(batch_id)
            if batch.status in TERMINAL:
                return batch
            if time.monotonic() - self.started > cfg.max_wait_s:
                raise BatchPending(
                    f"batch {batch_id} still {batch.status} after {cfg.max_wait_s:.0f} s; "
                    "run again later to collect it (its id is recorded in the cache)"
                )
            await asyncio.sleep(interval)
            interval = min(cfg.poll_max_interval_s, interval * 1.5)

    async def _lines(self, client: openai.AsyncOpenAI, file_id: str | None) -> list[dict[str, Any]]:
        if not file_id:
            return []
        content = await client.files.content(file_id)
        return [json.loads(line) for line in content.text.splitlines() if line.strip()]

    async def _collect(
        self, client: openai.AsyncOpenAI, batch_id: str, pending: dict[str, Job], run: Run, round_no: int
    ) -> None:
        batch = await self._poll(client, batch_id)
        outputs = await self._lines(client, batch.output_file_id)
        errors = await self._lines(client, batch.error_file_id)
        latency = time.monotonic() - self.started
        for line in outputs + errors:
            key = line.get("custom_id")
            response = line.get("response") or {}
            body = response.get("body") or {}
            if response.get("status_code") == 200:
                try:
                    fields = read_completion(body, self.settings.model)
                except MalformedResponse as exc:
                    self.last_error[key] = ("malformed_response", f"unreadable batch output line ({exc})")
                    continue
                job = pending.pop(key, None)
                if job is not None:
                    run.success(
                        job, latency_s=latency, attempts=round_no, reserved=self.reserved.pop(key, 0.0), **fields
                    )
                elif not run.cache.get_many([key]):
                    # Paid for but not asked for in this run (e.g. an older batch): keep it anyway.
                    cost = run.budget.cost(fields["prompt_tokens"], fields["completion_tokens"])
                    run.cache.put(key, {**fields, "cost_usd": cost, "latency_s": latency, "attempts": round_no})
                continue
            error = line.get("error") or body.get("error") or {}
            status = response.get("status_code")
            code = error_kind(error.get("code"), status)
            message = str(error.get("message") or code)
            if key in pending and status is not None and is_permanent(status):
                job = pending.pop(key)
                run.failure(
                    job,
                    code,
                    f"HTTP {status}: {message}",
                    attempts=round_no,
                    latency_s=latency,
                    reserved=self.reserved.pop(key, 0.0),
                )
            elif key in pending:
                self.last_error[key] = (code if code in RETRYABLE_CODES or status else "batch_error", message)
        for key in pending:
            self.last_error.setdefault(
                key, (f"batch_{batch.status}", f"no result in batch {batch_id} ({batch.status})")
            )
        run.cache.close_batch(batch_id, batch.status)
        if batch.status != "completed":
            logger.warning("Batch %s ended %s; its missing requests will be resubmitted.", batch_id, batch.status)
