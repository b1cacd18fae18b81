"""The replay teacher: an OpenAI-compatible server that answers from recorded real outputs.

It is never a model: an instruction found in the corpus gets its recorded response, a generation
prompt (``<example>`` tags) gets recorded real instructions, anything else an explicit
``not_in_replay_corpus`` error. ``/v1/moderations`` answers only texts with a recorded (synthetic,
test-only) verdict and refuses the rest (``cannot_moderate_unseen_text``). For tests of any pipeline::

    from lamini_lm.teacher.replay import serve

    with serve(latency_ms=5) as replay:
        settings = TeacherSettings.model_validate(conf_block("teacher", base_url=replay.base_url))
        results = complete(requests, settings)
        assert replay.answered[...] == 1

Modules: ``answers`` (what it says), ``moderations`` (its recorded verdicts), ``faults`` (what it
injects: :class:`ReplayConfig`), ``batches`` (Files and Batch API), ``server`` (the HTTP server),
``handle`` (a server in a thread), ``corpus`` (the recorded outputs).
"""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator
from typing import Any

from lamini_lm.teacher.config import ReplaySettings
from lamini_lm.teacher.replay.faults import ReplayConfig
from lamini_lm.teacher.replay.handle import ReplayHandle, corpus_from_settings, start
from lamini_lm.teacher.replay.server import MARKER_HEADER, ReplayServer

__all__ = [
    "ReplayConfig",
    "ReplayHandle",
    "ReplayServer",
    "conf_replay_settings",
    "corpus_from_settings",
    "is_replay_server",
    "serve",
    "start",
]


def conf_replay_settings(env: str = "base") -> ReplaySettings:
    """``teacher.replay`` as conf/<env> sets it (read the way ``kedro run`` reads it)."""
    from lamini_lm.parameters import load_parameters

    return ReplaySettings.model_validate(load_parameters(env)["teacher"]["replay"])


@contextlib.contextmanager
def serve(settings: ReplaySettings | None = None, *, port: int = 0, **kwargs: Any) -> Iterator[ReplayHandle]:
    """Context manager: a replay server (ephemeral port by default), stopped on exit.

    ``settings`` defaults to conf/base's ``teacher.replay`` (127.0.0.1, its recorded corpus, no
    faults). Keyword arguments are :class:`ReplayConfig` fields (``latency_ms``, ``faults`` — a
    partial dict of rates is fine —, ``seed``, ``expected_key``, ``stall_after``,
    ``ratelimit_requests``, ``batch_duration_s`` …), plus ``extra`` — additional
    ``{instruction: response}`` pairs for a test —, ``moderations`` — ``{text: {"flagged",
    "category_scores"}}`` verdicts for a test — and ``corpus``.
    """
    handle = start(settings or conf_replay_settings(), port=port, **kwargs)
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
