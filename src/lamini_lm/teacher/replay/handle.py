"""A replay server in a background thread: :func:`start` returns a :class:`ReplayHandle`."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from lamini_lm.teacher.config import Faults, ReplaySettings
from lamini_lm.teacher.replay.corpus import Corpus, load_corpus
from lamini_lm.teacher.replay.faults import ReplayConfig
from lamini_lm.teacher.replay.server import ReplayServer


def corpus_from_settings(settings: ReplaySettings) -> Corpus:
    """The corpus named by ``params:teacher.replay`` (loaded once per process)."""
    return load_corpus(settings.lamini_path, settings.alpaca_path, settings.p3_path, settings.seeds_path)


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


@dataclass
class ReplayHandle:
    """A running replay server: where it listens and what it has seen."""

    server: ReplayServer
    thread: ServerThread
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def config(self) -> ReplayConfig:
        return self.server.config

    @property
    def received(self):
        """Requests received, by content key (``lamini_lm.teacher.tokens.request_key``)."""
        return self.server.received

    @property
    def answered(self):
        """Requests answered successfully (a delivered 200 or batch output line), by content key."""
        return self.server.answered

    @property
    def stats(self):
        return self.server.stats

    def set_faults(self, **rates: Any) -> None:
        self.server.config.faults = Faults.model_validate({**self.server.config.faults.model_dump(), **rates})

    def release_stall(self) -> None:
        self.thread.call(self.server.release_stall)

    def stop(self) -> None:
        self.thread.stop()


def start(
    settings: ReplaySettings,
    *,
    host: str | None = None,
    port: int | None = None,
    corpus: Corpus | None = None,
    extra: dict[str, str] | None = None,
    moderations: dict[str, dict[str, Any]] | None = None,
    **config: Any,
) -> ReplayHandle:
    """Start a replay server as ``settings`` say, in a background thread; ``port=0`` picks a free port.

    ``config`` overrides :class:`ReplayConfig` fields (``faults`` may be a partial dict of rates);
    ``extra`` adds ``{instruction: response}`` pairs and ``moderations`` ``{text: {"flagged",
    "category_scores"}}`` verdicts to what it can answer.
    """
    faults = config.pop("faults", settings.faults)
    if isinstance(faults, dict):
        faults = Faults.model_validate({**settings.faults.model_dump(), **faults})
    config = {"latency_ms": settings.latency_ms, "seed": settings.seed, **config, "faults": faults}
    server = ReplayServer(
        corpus if corpus is not None else corpus_from_settings(settings),
        ReplayConfig(**config),
        extra=extra,
        moderations=moderations,
    )
    host = host or settings.host
    thread = ServerThread(server, host, settings.port if port is None else port)
    return ReplayHandle(server, thread, host, thread.start())
