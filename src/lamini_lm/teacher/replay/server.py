"""The replay teacher's OpenAI-compatible HTTP server (aiohttp).

Endpoints: ``POST /v1/chat/completions``, ``POST /v1/moderations`` (recorded verdicts only,
:mod:`~lamini_lm.teacher.replay.moderations`), ``GET /v1/models`` and the Files/Batch API of
:mod:`~lamini_lm.teacher.replay.batches`. It answers from :class:`Corpus` only and is never a model:
every reply's ``model`` is ``replay:<source>``. Latency, faults and rate-limit headers are injected
as :class:`ReplayConfig` says (:mod:`~lamini_lm.teacher.replay.faults`), and every request is
counted by content key (the client's :func:`request_key`) so tests can prove exactly-once behaviour.

An answer counts as served (``answered``) when the server sends it, whether or not the client is
still there — as a paid API bills it: a client that disconnects does not stop the handler
(no handler cancellation), so a killed client's requests in flight are answered and counted
(``stats["abandoned"]`` says how many went to a client that had gone). ``GET /_stats`` returns the
counts as JSON (``stats``, and ``answered`` / ``received`` by key), for tests and benchmarks that
run the server in another process.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import random

from aiohttp import web

from lamini_lm.teacher.moderation import UNSEEN_TEXT, moderation_key
from lamini_lm.teacher.replay.answers import NOT_IN_CORPUS, NOT_IN_CORPUS_MESSAGE, Answers, error_response, key_of
from lamini_lm.teacher.replay.batches import Batches
from lamini_lm.teacher.replay.corpus import Corpus
from lamini_lm.teacher.replay.faults import RateWindow, ReplayConfig, draw_fault, inject
from lamini_lm.teacher.replay.moderations import UNSEEN_TEXT_MESSAGE, Moderations

logger = logging.getLogger(__name__)
MARKER_HEADER = "x-replay-teacher"
MODEL_NAMES = (
    "replay:gpt-3.5-turbo",
    "replay:text-davinci-003",
    "replay:p3-target",
    "replay:human-seed",
    "replay:instruction-pool",
)


class ReplayServer:
    """State and handlers; :meth:`start` binds it (``host`` defaults to 127.0.0.1)."""

    def __init__(
        self,
        corpus: Corpus,
        config: ReplayConfig,
        extra: dict[str, str] | None = None,
        moderations: dict[str, dict] | None = None,
    ):
        self.answers = Answers(corpus, extra)
        self.moderations = Moderations(moderations)
        self.config = config
        self.rng = random.Random(config.seed)
        self.received: collections.Counter = collections.Counter()
        self.answered: collections.Counter = collections.Counter()
        self.stats: collections.Counter = collections.Counter()
        self.batch_api = Batches(self.answers, config, self.rng, self.received, self.answered, self.stats)
        self.files, self.batches = self.batch_api.files, self.batch_api.batches
        self._window = RateWindow()
        self._release: asyncio.Event | None = None
        self.runner: web.AppRunner | None = None
        self.port: int | None = None

    def _refusal(self, request: web.Request) -> web.Response | None:
        """The key check and the exhausted quota, before the body is read."""
        config = self.config
        if config.expected_key is not None:
            presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            if presented != config.expected_key:
                self.stats["401"] += 1
                # Like OpenAI, echo what was presented: the client must keep it out of everything it writes.
                message = f"Incorrect API key provided: {presented}."
                return error_response(401, message, "invalid_api_key", "authentication_error")
        if config.quota_exhausted:
            self.stats["429_quota"] += 1
            return error_response(
                429, "You exceeded your current quota (replay).", "insufficient_quota", "insufficient_quota"
            )
        return None

    async def chat(self, request: web.Request) -> web.StreamResponse:
        self.stats["requests"] += 1
        config = self.config
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error_response(400, "request body is not JSON", "invalid_json")
        key = key_of(body)
        self.received[key] += 1
        if config.on_receive is not None:
            config.on_receive(key)
        window = self._window.check(config, consume=True)
        if window is not None and window[0] < 0:
            self.stats["429_ratelimit"] += 1
            return RateWindow.refusal(config, window)
        if config.latency_ms:
            await asyncio.sleep(config.latency_ms / 1000.0)
        fault = draw_fault(config.faults, self.rng)
        if fault:
            self.stats[f"fault_{fault}"] += 1
        injected = await inject(fault, request, config.faults)
        if injected is not None:
            return injected
        if config.stall_after is not None and sum(self.answered.values()) >= config.stall_after:
            self.stats["stalled"] += 1
            if self._release is None:
                self._release = asyncio.Event()
            await self._release.wait()
        result = self.answers.completion(body, config.seed, force_length=fault == "length")
        if result is None:
            self.stats["not_in_corpus"] += 1
            return error_response(404, NOT_IN_CORPUS_MESSAGE, NOT_IN_CORPUS)
        if request.transport is None or request.transport.is_closing():
            self.stats["abandoned"] += 1  # served (and, at a paid API, billed) though the client is gone
        headers = {MARKER_HEADER: "1"}
        window = self._window.check(config, consume=False)
        if window is not None:
            headers.update(RateWindow.headers(config, window))
        self.answered[key] += 1
        self.stats["answered"] += 1
        return web.Response(text=json.dumps(result), content_type="application/json", headers=headers)

    async def moderate(self, request: web.Request) -> web.StreamResponse:
        """``/v1/moderations``: recorded verdicts, or a refusal naming the unseen texts (never a guess)."""
        self.stats["requests"] += 1
        self.stats["moderation_requests"] += 1
        refusal = self._refusal(request)
        if refusal is not None:
            return refusal
        try:
            body = await request.json()
            texts = self.moderations.inputs(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return error_response(400, "request body is not JSON", "invalid_json")
        except ValueError as exc:
            return error_response(400, str(exc), "invalid_input")
        keys = [moderation_key(str(body.get("model")), t) for t in texts]
        for key in keys:
            self.received[key] += 1
        window = self._window.check(self.config, consume=True)
        if window is not None and window[0] < 0:
            self.stats["429_ratelimit"] += 1
            return RateWindow.refusal(self.config, window)
        if self.config.latency_ms:
            await asyncio.sleep(self.config.latency_ms / 1000.0)
        fault = draw_fault(self.config.faults, self.rng)
        if fault and fault != "length":  # a verdict cannot be cut short
            self.stats[f"fault_{fault}"] += 1
            injected = await inject(fault, request, self.config.faults)
            if injected is not None:
                return injected
        missing = self.moderations.unseen(texts)
        if missing:
            self.stats["cannot_moderate"] += 1
            return error_response(404, UNSEEN_TEXT_MESSAGE.format(missing=missing, total=len(texts)), UNSEEN_TEXT)
        for key in keys:
            self.answered[key] += 1
        self.stats["moderated"] += len(texts)
        return web.json_response(self.moderations.answer(texts), headers={MARKER_HEADER: "1"})

    def release_stall(self) -> None:
        """Stop holding requests (call from the server's loop, see :class:`ServerThread`)."""
        self.config.stall_after = None
        if self._release is not None:
            self._release.set()

    async def models(self, request: web.Request) -> web.Response:
        data = [{"id": name, "object": "model", "created": 0, "owned_by": "lamini-lm-replay"} for name in MODEL_NAMES]
        return web.json_response({"object": "list", "data": data}, headers={MARKER_HEADER: "1"})

    async def counts(self, request: web.Request) -> web.Response:
        """``GET /_stats``: what the server has seen and served."""
        return web.json_response(
            {"stats": dict(self.stats), "answered": dict(self.answered), "received": dict(self.received)},
            headers={MARKER_HEADER: "1"},
        )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=512 * 1024 * 1024)
        app.router.add_post("/v1/chat/completions", self.chat)
        app.router.add_post("/v1/moderations", self.moderate)
        app.router.add_get("/v1/models", self.models)
        app.router.add_get("/_stats", self.counts)
        self.batch_api.routes(app)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        self._release = asyncio.Event()
        self.runner = web.AppRunner(self.app(), access_log=None, handler_cancellation=False, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, host, port, backlog=1024)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # the real port when 0 was asked for
        return self.port

    async def stop(self) -> None:
        self.batch_api.cancel()
        if self._release is not None:
            self._release.set()
        if self.runner is not None:
            await self.runner.cleanup()
