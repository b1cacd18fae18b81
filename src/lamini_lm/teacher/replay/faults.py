"""What the replay teacher injects: latency, faults at configured rates, a request rate limit with
OpenAI's ``x-ratelimit-*`` headers, a key check, an exhausted quota, a stall — all in
:class:`ReplayConfig`, which tests may change while the server runs."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from lamini_lm.teacher.config import Faults
from lamini_lm.teacher.replay.answers import error_response

FAULTS = ("429", "500", "timeout", "drop", "malformed", "length")


@dataclass
class ReplayConfig:
    """Behaviour of a running replay server; may be changed while it runs (tests do)."""

    latency_ms: float
    faults: Faults
    seed: int
    expected_key: str | None = None  # None: any key (or none) is accepted
    stall_after: int | None = None  # hold every request once this many were answered
    ratelimit_requests: int | None = None  # per window; emits x-ratelimit-* headers and real 429s
    ratelimit_window_s: float = 1.0
    batch_duration_s: float = 1.0
    batch_expire_rate: float = 0.0  # share of batch lines left unprocessed when the batch expires
    batch_error_rate: float = 0.0  # share of batch lines answered with a 500 in the error file
    quota_exhausted: bool = False  # answer everything with 429 insufficient_quota
    # Called in the server's thread with each chat request's content key as it arrives, before it is
    # answered (tests check what the client had committed by then).
    on_receive: Callable[[str], None] | None = None


def draw_fault(faults: Faults, rng: random.Random) -> str | None:
    """One of :data:`FAULTS` with its configured probability, or ``None``."""
    x = rng.random()
    for name in FAULTS:
        rate = getattr(faults, f"rate_{name}")
        if x < rate:
            return name
        x -= rate
    return None


class RateWindow:
    """A fixed window of ``config.ratelimit_requests`` requests per ``config.ratelimit_window_s``."""

    def __init__(self) -> None:
        self._window = (0, 0)
        self._started = time.monotonic()

    def check(self, config: ReplayConfig, consume: bool) -> tuple[int, float] | None:
        """``(remaining, seconds to reset)``, counting this request if ``consume``; None if disabled."""
        limit = config.ratelimit_requests
        if not limit:
            return None
        width = config.ratelimit_window_s
        elapsed = time.monotonic() - self._started
        index = int(elapsed // width)
        if self._window[0] != index:
            self._window = (index, 0)
        if consume:
            self._window = (index, self._window[1] + 1)
        return limit - self._window[1], (index + 1) * width - elapsed

    @staticmethod
    def headers(config: ReplayConfig, window: tuple[int, float]) -> dict[str, str]:
        """OpenAI's ``x-ratelimit-*-requests`` headers for ``window``."""
        return {
            "x-ratelimit-limit-requests": str(config.ratelimit_requests),
            "x-ratelimit-remaining-requests": str(max(0, window[0])),
            "x-ratelimit-reset-requests": f"{max(1, math.ceil(window[1] * 1000))}ms",
        }

    @classmethod
    def refusal(cls, config: ReplayConfig, window: tuple[int, float]) -> web.Response:
        """The 429 of a spent window, with ``retry-after-ms`` / ``Retry-After`` until its reset."""
        wait_ms = max(1, math.ceil(window[1] * 1000))
        return error_response(
            429,
            "Rate limit reached for requests (replay).",
            "rate_limit_exceeded",
            "requests",
            headers={
                "retry-after-ms": str(wait_ms),
                "retry-after": str(math.ceil(wait_ms / 1000)),
                **cls.headers(config, (0, window[1])),
            },
        )


async def inject(fault: str | None, request: web.Request, faults: Faults) -> web.StreamResponse | None:
    """The answer of an injected fault; ``None`` for no fault or ``length`` (a cut answer follows)."""
    if fault == "429":
        wait = faults.retry_after_s
        return error_response(
            429,
            "Rate limit reached (injected by the replay teacher).",
            "rate_limit_exceeded",
            "requests",
            headers={"retry-after-ms": str(int(wait * 1000)), "retry-after": str(max(0, math.ceil(wait)))},
        )
    if fault == "500":
        return error_response(
            500, "The server had an error (injected by the replay teacher).", "server_error", "server_error"
        )
    if fault == "timeout":
        await asyncio.sleep(faults.timeout_sleep_s)
        return error_response(504, "timed out (injected)", "timeout", "server_error")
    if fault == "drop":
        if request.transport is not None:
            request.transport.abort()
        raise asyncio.CancelledError  # nothing more can be sent on an aborted connection
    if fault == "malformed":
        return web.Response(
            body=b'{"id": "chatcmpl-replay", "object": "chat.completion", "choices": [{"mess',
            content_type="application/json",
        )
    return None
