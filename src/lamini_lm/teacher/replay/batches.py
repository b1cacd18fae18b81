"""The replay teacher's Files and Batch API: uploads, batches processed after
``batch_duration_s`` from recorded answers, output and error files, expiry and injected errors."""

from __future__ import annotations

import asyncio
import collections
import json
import random
import time
import uuid
from typing import Any

from aiohttp import web

from lamini_lm.teacher.replay.answers import NOT_IN_CORPUS, Answers, error_response, key_of
from lamini_lm.teacher.replay.faults import ReplayConfig


def _line_error(entry: dict[str, Any], status: int, message: str, kind: str, code: str) -> dict[str, Any]:
    body = {"error": {"message": message, "type": kind, "code": code}}
    return {**entry, "error": None, "response": {"status_code": status, "request_id": uuid.uuid4().hex, "body": body}}


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")


class Batches:
    """``/v1/files`` and ``/v1/batches``; counts every line in the server's ``received``/``answered``."""

    def __init__(
        self,
        answers: Answers,
        config: ReplayConfig,
        rng: random.Random,
        received: collections.Counter,
        answered: collections.Counter,
        stats: collections.Counter,
    ):
        self.answers, self.config, self.rng = answers, config, rng
        self.received, self.answered, self.stats = received, answered, stats
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._tasks: set[asyncio.Task] = set()

    # -- files -------------------------------------------------------------------------------
    def _file_object(self, file_id: str) -> dict[str, Any]:
        f = self.files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(f["content"]),
            "created_at": f["created_at"],
            "filename": f["filename"],
            "purpose": f["purpose"],
            "status": "processed",
        }

    def _new_file(self, content: bytes, filename: str, purpose: str) -> str:
        file_id = f"file-replay-{uuid.uuid4().hex[:16]}"
        self.files[file_id] = {
            "content": content,
            "filename": filename,
            "purpose": purpose,
            "created_at": int(time.time()),
        }
        return file_id

    async def upload_file(self, request: web.Request) -> web.Response:
        reader = await request.multipart()
        purpose, content, filename = "batch", b"", "upload.jsonl"
        async for part in reader:
            if part.name == "purpose":
                purpose = (await part.text()).strip()
            elif part.name == "file":
                filename = part.filename or filename
                content = await part.read()
        self.stats["files_uploaded"] += 1
        return web.json_response(self._file_object(self._new_file(content, filename, purpose)))

    async def get_file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return error_response(404, f"No such file: {file_id}", "not_found")
        return web.json_response(self._file_object(file_id))

    async def file_content(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return error_response(404, f"No such file: {file_id}", "not_found")
        return web.Response(body=self.files[file_id]["content"], content_type="application/octet-stream")

    # -- batches -----------------------------------------------------------------------------
    async def create_batch(self, request: web.Request) -> web.Response:
        body = await request.json()
        file_id = body.get("input_file_id")
        if file_id not in self.files:
            return error_response(400, f"input_file_id {file_id!r} does not exist", "invalid_file")
        batch_id = f"batch_replay_{uuid.uuid4().hex[:16]}"
        now = int(time.time())
        lines = [line for line in self.files[file_id]["content"].decode("utf-8").splitlines() if line.strip()]
        self.batches[batch_id] = {
            "id": batch_id,
            "object": "batch",
            "endpoint": body.get("endpoint", "/v1/chat/completions"),
            "errors": None,
            "input_file_id": file_id,
            "completion_window": body.get("completion_window", "24h"),
            "status": "in_progress",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": now,
            "expires_at": now + 86400,
            "completed_at": None,
            "expired_at": None,
            "cancelled_at": None,
            "request_counts": {"total": len(lines), "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        self.stats["batches_created"] += 1
        task = asyncio.get_running_loop().create_task(self._process(batch_id, lines))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(self.batches[batch_id])

    def _answer_line(self, line: str) -> tuple[str, dict[str, Any]]:
        """``("output" | "error" | "expired", the output or error file line)`` of one input line."""
        item = json.loads(line)
        custom_id, body = item.get("custom_id"), item.get("body") or {}
        key = key_of(body)
        self.received[key] += 1
        entry = {"id": f"batch_req_{uuid.uuid4().hex[:16]}", "custom_id": custom_id}
        if self.rng.random() < self.config.batch_expire_rate:
            message = "This request could not be executed before the completion window expired."
            return "expired", {**entry, "response": None, "error": {"code": "batch_expired", "message": message}}
        if self.rng.random() < self.config.batch_error_rate:
            return "error", _line_error(entry, 500, "server error (injected)", "server_error", "server_error")
        result = self.answers.completion(body, self.config.seed)
        if result is None:
            return "error", _line_error(entry, 404, "not in replay corpus", "invalid_request_error", NOT_IN_CORPUS)
        self.answered[key] += 1
        self.stats["batch_answered"] += 1
        response = {"status_code": 200, "request_id": uuid.uuid4().hex, "body": result}
        return "output", {**entry, "error": None, "response": response}

    async def _process(self, batch_id: str, lines: list[str]) -> None:
        await asyncio.sleep(self.config.batch_duration_s)
        batch = self.batches[batch_id]
        if batch["status"] != "in_progress":
            return
        outputs, errors, expired = [], [], 0
        for line in lines:
            outcome, row = self._answer_line(line)
            (outputs if outcome == "output" else errors).append(row)
            expired += outcome == "expired"
        if outputs:
            batch["output_file_id"] = self._new_file(_jsonl(outputs), f"{batch_id}_output.jsonl", "batch_output")
        if errors:
            batch["error_file_id"] = self._new_file(_jsonl(errors), f"{batch_id}_error.jsonl", "batch_output")
        now = int(time.time())
        batch["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": len(errors)}
        if expired:
            batch.update(status="expired", expired_at=now)
        else:
            batch.update(status="completed", completed_at=now)

    async def get_batch(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["batch_id"]
        if batch_id not in self.batches:
            return error_response(404, f"No such batch: {batch_id}", "not_found")
        self.stats["batch_polls"] += 1
        return web.json_response(self.batches[batch_id])

    async def cancel_batch(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["batch_id"]
        if batch_id not in self.batches:
            return error_response(404, f"No such batch: {batch_id}", "not_found")
        batch = self.batches[batch_id]
        if batch["status"] == "in_progress":
            batch.update(status="cancelled", cancelled_at=int(time.time()))
        return web.json_response(batch)

    def routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/files", self.upload_file)
        app.router.add_get("/v1/files/{file_id}", self.get_file)
        app.router.add_get("/v1/files/{file_id}/content", self.file_content)
        app.router.add_post("/v1/batches", self.create_batch)
        app.router.add_get("/v1/batches/{batch_id}", self.get_batch)
        app.router.add_post("/v1/batches/{batch_id}/cancel", self.cancel_batch)

    def cancel(self) -> None:
        """Stop processing batches (the server is stopping)."""
        for task in list(self._tasks):
            task.cancel()
