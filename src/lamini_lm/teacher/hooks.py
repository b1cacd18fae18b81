"""Kedro hooks of the teacher: the API key from credentials, and the replay teacher's lifetime.

``TeacherHooks`` registers ``credentials`` ``openai.api_key`` in process memory (never in
parameters) and, when ``params:teacher.replay.serve`` is true, serves the replay teacher for the
duration of a run that uses ``params:teacher``: on ``teacher.replay.host:port``, or on a free
port when that one is taken (by another run, say), with the run's requests routed to it. Each
run owns its server, so concurrent runs never stop each other's teacher.
"""

from __future__ import annotations

import logging
from typing import Any

from kedro.framework.hooks import hook_impl

from lamini_lm.teacher.config import load_settings, serve_replay_at
from lamini_lm.teacher.credentials import register_api_key

logger = logging.getLogger(__name__)


def _uses_teacher(pipeline: Any) -> bool:
    return any(
        name == "params:teacher" or name.startswith("params:teacher.")
        for node in pipeline.nodes
        for name in node.inputs
    )


class TeacherHooks:
    """Credentials in, replay server up (before the run) and down (after it, or on error)."""

    def __init__(self) -> None:
        self._params: dict[str, Any] | None = None
        self._handle = None
        self._configured_port: int | None = None

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        try:
            credentials = context.config_loader["credentials"]
        except Exception:  # noqa: BLE001 - no credentials file is a normal setup
            credentials = {}
        key = ((credentials or {}).get("openai") or {}).get("api_key")
        if key:
            register_api_key(str(key))
        try:
            self._params = context.params.get("teacher")
        except Exception:  # noqa: BLE001 - parameters may not load in every command
            self._params = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if self._params is None or not _uses_teacher(pipeline):
            return
        settings = load_settings(self._params)
        replay = settings.replay
        if not replay.serve:
            return
        from lamini_lm.teacher.replay.handle import corpus_from_settings, start

        corpus = corpus_from_settings(replay)
        try:
            self._handle = start(replay, corpus=corpus)
        except OSError as err:  # the port is taken (by another run's replay teacher, say)
            logger.info("%s:%d: %s; serving this run's replay teacher on a free port.", replay.host, replay.port, err)
            self._handle = start(replay, port=0, corpus=corpus)
        self._configured_port = replay.port
        serve_replay_at(replay.port, self._handle.base_url)
        logger.info("Replay teacher (recorded real outputs, not a model) serving %s.", self._handle.base_url)

    def _stop(self) -> None:
        if self._handle is not None:
            serve_replay_at(self._configured_port, self._handle.base_url, serving=False)
            stats = dict(self._handle.stats)
            self._handle.stop()
            self._handle = None
            logger.info("Replay teacher stopped: %s.", stats)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._stop()

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._stop()
