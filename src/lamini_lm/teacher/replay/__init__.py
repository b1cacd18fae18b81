"""The replay teacher: an OpenAI-compatible server that answers from recorded real outputs.

It is never a model: an instruction found in the corpus gets its recorded response, a generation
prompt (``<example>`` tags) gets recorded real instructions, anything else an explicit
``not_in_replay_corpus`` error. For tests of any pipeline::

    from lamini_lm.teacher.replay import serve

    with serve(latency_ms=5) as replay:
        results = complete(requests, {"base_url": replay.base_url, "cache_path": None, ...})
        assert replay.answered[...] == 1
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lamini_lm.teacher.config import Faults, ReplaySettings
from lamini_lm.teacher.replay.corpus import Corpus, load_corpus
from lamini_lm.teacher.replay.server import MARKER_HEADER, ReplayConfig, ReplayServer, ServerThread

__all__ = ["ReplayConfig", "ReplayHandle", "ReplayServer", "corpus_from_settings", "is_replay_server", "serve"]


def corpus_from_settings(settings: ReplaySettings | None = None) -> Corpus:
    """The corpus named by ``params:teacher.replay`` (loaded once per process)."""
    settings = settings or ReplaySettings()
    return load_corpus(settings.lamini_path, settings.alpaca_path, settings.p3_path, settings.seeds_path)


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
        self.server.config.faults = Faults(**{**self.server.config.faults.model_dump(), **rates})

    def release_stall(self) -> None:
        self.thread.call(self.server.release_stall)

    def stop(self) -> None:
        self.thread.stop()


def start(
    settings: ReplaySettings | None = None,
    *,
    host: str | None = None,
    port: int | None = None,
    corpus: Corpus | None = None,
    extra: dict[str, str] | None = None,
    **config: Any,
) -> ReplayHandle:
    """Start a replay server in a background thread; ``port=0`` picks a free port."""
    settings = settings or ReplaySettings()
    config.setdefault("latency_ms", settings.latency_ms)
    config.setdefault("faults", settings.faults)
    config.setdefault("seed", settings.seed)
    if isinstance(config["faults"], dict):
        config["faults"] = Faults(**config["faults"])
    server = ReplayServer(
        corpus if corpus is not None else corpus_from_settings(settings), ReplayConfig(**config), extra=extra
    )
    host = host or settings.host
    thread = ServerThread(server, host, settings.port if port is None else port)
    return ReplayHandle(server, thread, host, thread.start())


@contextlib.contextmanager
def serve(settings: ReplaySettings | None = None, *, port: int = 0, **kwargs: Any) -> Iterator[ReplayHandle]:
    """Context manager: a replay server on 127.0.0.1 (ephemeral port by default), stopped on exit.

    Keyword arguments are :class:`ReplayConfig` fields (``latency_ms``, ``faults``, ``expected_key``,
    ``stall_after``, ``ratelimit_requests``, ``batch_duration_s`` …), plus ``extra`` — additional
    ``{instruction: response}`` pairs for a test — and ``corpus``.
    """
    handle = start(settings, port=port, **kwargs)
    try:
        yield handle
    finally:
        handle.stop()


def is_replay_server(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether ``host:port`` serves a replay teacher."""
    try:
        with urllib.request.urlopen(f"http://{host}:{port}/v1/models", timeout=timeout) as response:
            if response.headers.get(MARKER_HEADER) == "1":
                return True
            data = json.loads(response.read())
            return any(m.get("owned_by") == "lamini-lm-replay" for m in data.get("data", []))
    except (OSError, ValueError):
        return False
