"""How requests travel to the endpoint (chat completions, and moderations): ``teacher.transport``.

``aiohttp`` (default) lets a configured ``AsyncOpenAI`` client resolve the base URL, API key,
organisation/project and headers once, then posts each request over one aiohttp session. ``sdk``
sends each request through ``AsyncOpenAI.post`` itself. Both return a :class:`Reply` (or raise
:class:`SendError` when no answer came), so the backend's retries, limits and error handling are
the same for both; the aiohttp path costs half the client CPU per request
(docs/benchmarks/teacher.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import aiohttp.helpers
import openai
import yarl

try:  # the HTTP library under the openai client (httpx2 in openai 3.x, httpx before)
    import httpx2 as _httpx
except ImportError:  # pragma: no cover
    import httpx as _httpx

from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.credentials import get_api_key
from lamini_lm.teacher.wire import read_error

# The HTTP library logs every request at INFO: millions of lines for a large run.
logging.getLogger("httpx2").setLevel(logging.WARNING)
logging.getLogger("httpx").setLevel(logging.WARNING)
NO_KEY = "no-key-set"


@dataclass(frozen=True)
class Reply:
    """An HTTP answer: status, case-insensitive headers and the raw body."""

    status: int
    headers: Mapping[str, str]
    content: bytes

    def error(self) -> tuple[str | None, str]:
        """``(code, message)`` of an error body (:func:`lamini_lm.teacher.wire.read_error`)."""
        return read_error(self.content, self.status)


CHAT_PATH = "/chat/completions"


class SendError(Exception):
    """A request that got no HTTP answer; ``kind`` is ``"timeout"`` or ``"connection"``.

    ``refused``: no connection could be made at all (refused, unknown host) — unlike a connection the
    endpoint dropped, which says nothing about whether it is there.
    """

    def __init__(self, kind: str, message: str, refused: bool = False):
        super().__init__(message)
        self.kind = kind
        self.refused = refused


class Transport(Protocol):
    """What the backend needs of a transport."""

    async def post(self, body: dict[str, Any]) -> Reply: ...

    async def close(self) -> None: ...


def openai_client(settings: TeacherSettings, **options: Any) -> openai.AsyncOpenAI:
    """``AsyncOpenAI`` for ``settings.base_url`` with the registered key; ``options`` go to the client."""
    return openai.AsyncOpenAI(api_key=get_api_key() or NO_KEY, base_url=settings.base_url, **options)


def sdk_client(settings: TeacherSettings) -> openai.AsyncOpenAI:
    """``AsyncOpenAI`` on the SDK's aiohttp transport (``DefaultAioHttpClient``), its retries off.

    Measured here: the default httpx2 transport sends headers and body in two writes without
    TCP_NODELAY (Nagle + delayed ACK stall each request) and costs more CPU per request.
    """
    try:
        http_client = openai.DefaultAioHttpClient(timeout=settings.timeout_s)
    except (AttributeError, RuntimeError):  # older SDK or no aiohttp: the SDK's default transport
        http_client = None
    return openai_client(settings, timeout=settings.timeout_s, max_retries=0, http_client=http_client)


def _never_connected(exc: BaseException) -> bool:
    """Whether the SDK's error comes from a connection that could not be made (the SDK's aiohttp client
    reports a refused connection as a ``ConnectTimeout`` caused by aiohttp's ``ClientConnectorError``)."""
    cause = exc.__cause__
    while cause is not None:
        if isinstance(cause, (aiohttp.ClientConnectorError, _httpx.ConnectError)):
            return True
        cause = cause.__cause__
    return False


class SdkTransport:
    """Each request through ``AsyncOpenAI`` itself (its generic ``post``) to ``path`` of the base URL."""

    def __init__(self, settings: TeacherSettings, path: str = CHAT_PATH):
        self.client = sdk_client(settings)
        self.timeout_s = settings.timeout_s
        self.path = path

    async def post(self, body: dict[str, Any]) -> Reply:
        try:
            # The generic post skips the typed-params transform of chat.completions.create
            # (~1 ms CPU per request here); auth, timeouts and connection handling are the SDK's.
            raw = await self.client.post(self.path, cast_to=_httpx.Response, body=body)
        except openai.APIStatusError as exc:
            return Reply(exc.status_code, exc.response.headers, exc.response.content)
        except openai.APITimeoutError as exc:
            if _never_connected(exc):
                raise SendError("timeout", f"could not connect: {exc.__cause__}", refused=True) from None
            raise SendError("timeout", f"no answer within timeout_s={self.timeout_s}") from None
        except openai.APIConnectionError as exc:
            raise SendError(
                "connection", f"connection error: {exc.__cause__ or exc}", refused=_never_connected(exc)
            ) from None
        return Reply(raw.status_code, raw.headers, raw.content)

    async def close(self) -> None:
        await self.client.close()


class AiohttpTransport:
    """Plain aiohttp POSTs with the URL and headers a configured ``AsyncOpenAI`` client would send.

    The SDK resolves its configuration once (base URL and ``OPENAI_BASE_URL``, API key,
    organisation and project, user agent); the per-request work is then one aiohttp call.
    Create it inside the event loop that uses it. ``path``: where under the base URL it posts.
    """

    def __init__(self, settings: TeacherSettings, path: str = CHAT_PATH):
        self.config = openai_client(settings, max_retries=0)
        headers = {k: v for k, v in self.config.default_headers.items() if isinstance(v, str)}
        headers.update(self.config.auth_headers)
        self.url = str(self.config.base_url).rstrip("/") + path
        self.timeout_s = settings.timeout_s
        # HTTP(S)_PROXY / NO_PROXY as the SDK honours them, looked up once: aiohttp's trust_env
        # looks them up in a thread for every request (measured: GIL hand-offs slow the loop).
        try:
            self.proxy, self.proxy_auth = aiohttp.helpers.get_env_proxy_for_url(yarl.URL(self.url))
        except LookupError:
            self.proxy, self.proxy_auth = None, None
        self.session = aiohttp.ClientSession(
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=settings.timeout_s),
            connector=aiohttp.TCPConnector(limit=settings.max_concurrency),
        )

    async def post(self, body: dict[str, Any]) -> Reply:
        try:
            async with self.session.post(
                self.url, data=json.dumps(body).encode(), proxy=self.proxy, proxy_auth=self.proxy_auth
            ) as response:
                return Reply(response.status, response.headers, await response.read())
        except asyncio.TimeoutError:
            raise SendError("timeout", f"no answer within timeout_s={self.timeout_s}") from None
        except aiohttp.ClientConnectorError as exc:
            raise SendError("connection", f"connection error: {exc}", refused=True) from None
        except aiohttp.ClientError as exc:
            raise SendError("connection", f"connection error: {exc}") from None

    async def close(self) -> None:
        await self.session.close()
        await self.config.close()


TRANSPORTS = {"aiohttp": AiohttpTransport, "sdk": SdkTransport}
