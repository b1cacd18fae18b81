"""The replay teacher's OpenAI-compatible HTTP server (aiohttp).

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/files``, ``GET /v1/files/{id}[/content]``,
``POST /v1/batches``, ``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``, ``GET /v1/models``.
It answers from :class:`Corpus` only and is never a model: every reply's ``model`` is
``replay:<source>``. Latency, faults and rate-limit headers are injected as configured, and every
request is counted by content key (the client's :func:`request_key`) so tests can prove
exactly-once behaviour.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import math
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from lamini_lm.teacher.config import Faults
from lamini_lm.teacher.replay.corpus import Corpus
from lamini_lm.teacher.tokens import count_prompt_tokens, count_tokens, request_key, truncate_tokens

logger = logging.getLogger(__name__)
MARKER_HEADER = "x-replay-teacher"


@dataclass
class ReplayConfig:
    """Behaviour of a running replay server; may be changed while it runs (tests do)."""

    latency_ms: float = 0.0
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    expected_key: str | None = None  # None: any key (or none) is accepted
    stall_after: int | None = None  # hold every request once this many were answered
    ratelimit_requests: int | None = None  # per window; emits x-ratelimit-* headers and real 429s
    ratelimit_window_s: float = 1.0
    batch_duration_s: float = 1.0
    batch_expire_rate: float = 0.0  # share of batch lines left unprocessed when the batch expires
    batch_error_rate: float = 0.0  # share of batch lines answered with a 500 in the error file
    quota_exhausted: bool = False  # answer everything with 429 insufficient_quota


def _error(
    status: int, message: str, code: str, kind: str = "invalid_request_error", headers: dict[str, str] | None = None
) -> web.Response:
    body = {"error": {"message": message, "type": kind, "param": None, "code": code}}
    return web.json_response(body, status=status, headers=headers)


class ReplayServer:
    """State and handlers; :meth:`start` binds it (``host`` defaults to 127.0.0.1)."""

    def __init__(self, corpus: Corpus, config: ReplayConfig | None = None, extra: dict[str, str] | None = None):
        self.corpus = corpus
        self.config = config or ReplayConfig()
        self.extra = {" ".join(k.split()): v for k, v in (extra or {}).items()}
        self.rng = random.Random(self.config.seed)
        self.received: collections.Counter = collections.Counter()
        self.answered: collections.Counter = collections.Counter()
        self.stats: collections.Counter = collections.Counter()
        self.files: dict[str, dict[str, Any]] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._window = (0, 0)
        self._started = time.monotonic()
        self._release: asyncio.Event | None = None
        self._tasks: set[asyncio.Task] = set()
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    # -- answering ---------------------------------------------------------------------------
    def reply_for(self, messages: list[dict[str, Any]]) -> tuple[str, str] | None:
        """``(text, source)`` for a chat request, or ``None`` when it is not in the corpus."""
        users = [m for m in messages if m.get("role") == "user"]
        if not users:
            return None
        prompt = str(users[-1].get("content") or "")
        fixed = self.extra.get(" ".join(prompt.split()))
        if fixed is not None:
            return fixed, "fixture"
        return self.corpus.answer(prompt) or self.corpus.generate(prompt, self.config.seed)

    def completion(self, body: dict[str, Any], force_length: bool = False) -> dict[str, Any] | None:
        messages = body.get("messages") or []
        found = self.reply_for(messages)
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

    @staticmethod
    def key_of(body: dict[str, Any]) -> str:
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

    def _draw_fault(self) -> str | None:
        f = self.config.faults
        x = self.rng.random()
        for name, rate in (
            ("429", f.rate_429),
            ("500", f.rate_500),
            ("timeout", f.rate_timeout),
            ("drop", f.rate_drop),
            ("malformed", f.rate_malformed),
            ("length", f.rate_length),
        ):
            if x < rate:
                return name
            x -= rate
        return None

    def _ratelimit(self, consume: bool) -> tuple[int, float] | None:
        """``(remaining, seconds to reset)`` of the fixed request window, or None if disabled."""
        limit = self.config.ratelimit_requests
        if not limit:
            return None
        width = self.config.ratelimit_window_s
        elapsed = time.monotonic() - self._started
        index = int(elapsed // width)
        if self._window[0] != index:
            self._window = (index, 0)
        if consume:
            self._window = (index, self._window[1] + 1)
        return limit - self._window[1], (index + 1) * width - elapsed

    # -- handlers ----------------------------------------------------------------------------
    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.stats["requests"] += 1
        config = self.config
        if config.expected_key is not None:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if presented != config.expected_key:
                self.stats["401"] += 1
                # Like OpenAI, echo what was presented: the client must keep it out of everything it writes.
                return _error(
                    401, f"Incorrect API key provided: {presented}.", "invalid_api_key", "authentication_error"
                )
        if config.quota_exhausted:
            self.stats["429_quota"] += 1
            return _error(429, "You exceeded your current quota (replay).", "insufficient_quota", "insufficient_quota")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "request body is not JSON", "invalid_json")
        key = self.key_of(body)
        self.received[key] += 1
        window = self._ratelimit(consume=True)
        if window is not None and window[0] < 0:
            self.stats["429_ratelimit"] += 1
            wait_ms = max(1, math.ceil(window[1] * 1000))
            return _error(
                429,
                "Rate limit reached for requests (replay).",
                "rate_limit_exceeded",
                "requests",
                headers={
                    "retry-after-ms": str(wait_ms),
                    "retry-after": str(math.ceil(wait_ms / 1000)),
                    "x-ratelimit-limit-requests": str(config.ratelimit_requests),
                    "x-ratelimit-remaining-requests": "0",
                    "x-ratelimit-reset-requests": f"{wait_ms}ms",
                },
            )
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000.0)
        fault = self._draw_fault()
        if fault:
            self.stats[f"fault_{fault}"] += 1
        if fault == "429":
            wait = config.faults.retry_after_s
            return _error(
                429,
                "Rate limit reached (injected by the replay teacher).",
                "rate_limit_exceeded",
                "requests",
                headers={"retry-after-ms": str(int(wait * 1000)), "retry-after": str(max(0, math.ceil(wait)))},
            )
        if fault == "500":
            return _error(
                500, "The server had an error (injected by the replay teacher).", "server_error", "server_error"
            )
        if fault == "timeout":
            await asyncio.sleep(config.faults.timeout_sleep_s)
            return _error(504, "timed out (injected)", "timeout", "server_error")
        if fault == "drop":
            if request.transport is not None:
                request.transport.abort()
            raise asyncio.CancelledError  # nothing more can be sent on an aborted connection
        if fault == "malformed":
            return web.Response(
                body=b'{"id": "chatcmpl-replay", "object": "chat.completion", "choices": [{"mess',
                content_type="application/json",
            )
        if config.stall_after is not None and sum(self.answered.values()) >= config.stall_after:
            self.stats["stalled"] += 1
            if self._release is None:
                self._release = asyncio.Event()
            await self._release.wait()
        result = self.completion(body, force_length=fault == "length")
        if result is None:
            self.stats["not_in_corpus"] += 1
            return _error(
                404,
                "not in replay corpus: the replay teacher only serves recorded real outputs "
                "(it is not a model). Point teacher.base_url at a real endpoint for new prompts.",
                "not_in_replay_corpus",
            )
        if request.transport is None or request.transport.is_closing():
            self.stats["abandoned"] += 1  # the client is gone: nothing is delivered
            return web.Response(status=499)
        headers = {MARKER_HEADER: "1"}
        window = self._ratelimit(consume=False)
        if window is not None:
            headers.update(
                {
                    "x-ratelimit-limit-requests": str(config.ratelimit_requests),
                    "x-ratelimit-remaining-requests": str(max(0, window[0])),
                    "x-ratelimit-reset-requests": f"{max(1, math.ceil(window[1] * 1000))}ms",
                }
            )
        self.answered[key] += 1
        self.stats["answered"] += 1
        return web.Response(text=json.dumps(result), content_type="application/json", headers=headers)

    def release_stall(self) -> None:
        """Stop holding requests (call from the server's loop, see :class:`ServerThread`)."""
        self.config.stall_after = None
        if self._release is not None:
            self._release.set()

    async def models(self, request: web.Request) -> web.Response:
        data = [
            {"id": name, "object": "model", "created": 0, "owned_by": "lamini-lm-replay"}
            for name in (
                "replay:gpt-3.5-turbo",
                "replay:text-davinci-003",
                "replay:p3-target",
                "replay:human-seed",
                "replay:instruction-pool",
            )
        ]
        return web.json_response({"object": "list", "data": data}, headers={MARKER_HEADER: "1"})

    # -- files and batches -------------------------------------------------------------------
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
            return _error(404, f"No such file: {file_id}", "not_found")
        return web.json_response(self._file_object(file_id))

    async def file_content(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return _error(404, f"No such file: {file_id}", "not_found")
        return web.Response(body=self.files[file_id]["content"], content_type="application/octet-stream")

    async def create_batch(self, request: web.Request) -> web.Response:
        body = await request.json()
        file_id = body.get("input_file_id")
        if file_id not in self.files:
            return _error(400, f"input_file_id {file_id!r} does not exist", "invalid_file")
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
        task = asyncio.get_running_loop().create_task(self._process_batch(batch_id, lines))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return web.json_response(self.batches[batch_id])

    async def _process_batch(self, batch_id: str, lines: list[str]) -> None:
        await asyncio.sleep(self.config.batch_duration_s)
        batch = self.batches[batch_id]
        if batch["status"] != "in_progress":
            return
        outputs, errors, expired = [], [], 0
        for line in lines:
            item = json.loads(line)
            custom_id, body = item.get("custom_id"), item.get("body") or {}
            key = self.key_of(body)
            self.received[key] += 1
            entry = {"id": f"batch_req_{uuid.uuid4().hex[:16]}", "custom_id": custom_id}
            if self.rng.random() < self.config.batch_expire_rate:
                expired += 1
                errors.append(
                    {
                        **entry,
                        "response": None,
                        "error": {
                            "code": "batch_expired",
                            "message": "This request could not be executed before the completion window expired.",
                        },
                    }
                )
                continue
            if self.rng.random() < self.config.batch_error_rate:
                errors.append(
                    {
                        **entry,
                        "error": None,
                        "response": {
                            "status_code": 500,
                            "request_id": uuid.uuid4().hex,
                            "body": {
                                "error": {
                                    "message": "server error (injected)",
                                    "type": "server_error",
                                    "code": "server_error",
                                }
                            },
                        },
                    }
                )
                continue
            result = self.completion(body)
            if result is None:
                errors.append(
                    {
                        **entry,
                        "error": None,
                        "response": {
                            "status_code": 404,
                            "request_id": uuid.uuid4().hex,
                            "body": {
                                "error": {
                                    "message": "not in replay corpus",
                                    "type": "invalid_request_error",
                                    "code": "not_in_replay_corpus",
                                }
                            },
                        },
                    }
                )
                continue
            self.answered[key] += 1
            self.stats["batch_answered"] += 1
            outputs.append(
                {
                    **entry,
                    "error": None,
                    "response": {"status_code": 200, "request_id": uuid.uuid4().hex, "body": result},
                }
            )
        dump = lambda rows: "".join(json.dumps(r) + "\n" for r in rows).encode("utf-8")  # noqa: E731
        if outputs:
            batch["output_file_id"] = self._new_file(dump(outputs), f"{batch_id}_output.jsonl", "batch_output")
        if errors:
            batch["error_file_id"] = self._new_file(dump(errors), f"{batch_id}_error.jsonl", "batch_output")
        now = int(time.time())
        batch["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": len(errors)}
        if expired:
            batch.update(status="expired", expired_at=now)
        else:
            batch.update(status="completed", completed_at=now)

    async def get_batch(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["batch_id"]
        if batch_id not in self.batches:
            return _error(404, f"No such batch: {batch_id}", "not_found")
        self.stats["batch_polls"] += 1
        return web.json_response(self.batches[batch_id])

    async def cancel_batch(self, request: web.Request) -> web.Response:
        batch_id = request.match_info["batch_id"]
        if batch_id not in self.batches:
            return _error(404, f"No such batch: {batch_id}", "not_found")
        batch = self.batches[batch_id]
        if batch["status"] == "in_progress":
            batch.update(status="cancelled", cancelled_at=int(time.time()))
        return web.json_response(batch)

    def app(self) -> web.Application:
        app = web.Application(client_max_size=512 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_get("/v1/models", self.models)
        app.router.add_post("/v1/files", self.upload_file)
        app.router.add_get("/v1/files/{file_id}", self.get_file)
        app.router.add_get("/v1/files/{file_id}/content", self.file_content)
        app.router.add_post("/v1/batches", self.create_batch)
        app.router.add_get("/v1/batches/{batch_id}", self.get_batch)
        app.router.add_post("/v1/batches/{batch_id}/cancel", self.cancel_batch)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._release = asyncio.Event()
        self.runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=True, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked for
        return self.port

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._release is not None:
            self._release.set()
        if self.runner is not None:
            await self.runner.cleanup()


class ServerThread:
    """A :class:`ReplayServer` on its own event loop in a daemon thread."""

    def __init__(self, server: ReplayServer, host: str = "127.0.0.1", port: int = 0):
        self.server, self.host = server, host
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(port,), name="replay-teacher", daemon=True)

    def _main(self, port: int) -> None:
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self.server.start(self.host, port))
        except BaseException as exc:  # noqa: BLE001 - reported to the starting thread
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.server.stop())
        self.loop.close()

    def start(self) -> int:
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise OSError(f"Replay teacher could not listen on {self.host}: {self._error}") from self._error
        return self.server.port

    def call(self, fn, *args) -> None:
        """Run ``fn(*args)`` on the server's loop (e.g. ``server.release_stall``)."""
        self.loop.call_soon_threadsafe(fn, *args)

    def stop(self) -> None:
        if self._thread.is_alive():
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
