"""Kedro hooks of the teacher: the API key from credentials, and the replay teacher's lifetime.

``TeacherHooks`` registers ``credentials`` ``openai.api_key`` in process memory (never in
parameters) and, when the run's ``params:teacher.replay.serve`` is true, serves the replay teacher
for the duration of a run that uses ``params:teacher``: on ``teacher.replay.host:port``, or on a
free port when that one is taken (by another run, say). Every node of that run that takes
``params:teacher`` receives it as :class:`TeacherSettings` with ``base_url`` pointing at the run's
server (``before_node_run`` replaces the input), so concurrent runs never share or stop each
other's teacher. Namespaced pipelines map ``params:teacher`` to the shared name to get it.

With ``teacher.dry_run: true`` the run stops after the first node that takes ``params:teacher``
(its projection is logged, nothing was sent): ``after_node_run`` raises :class:`TeacherDryRun`
before Kedro saves that node's outputs, so no dry-run row replaces a real result. The project's
``kedro run`` (``lamini_lm.cli``) reports it as a clean stop.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from kedro.framework.hooks import hook_impl

from lamini_lm.teacher.config import load_settings
from lamini_lm.teacher.credentials import register_api_key
from lamini_lm.teacher.run import TeacherDryRun

logger = logging.getLogger(__name__)
TEACHER_INPUT = "params:teacher"


def _uses_teacher(pipeline: Any) -> bool:
    return any(
        name == TEACHER_INPUT or name.startswith(TEACHER_INPUT + ".") for node in pipeline.nodes for name in node.inputs
    )


class TeacherHooks:
    """Credentials in, replay server up (before the run), routed to (each node), down (after the run)."""

    def __init__(self) -> None:
        self._servers: dict[str | None, Any] = {}  # run id -> the ReplayHandle that run started

    @hook_impl
    def after_context_created(self, context: Any) -> None:
        try:
            credentials = context.config_loader["credentials"]
        except Exception:  # noqa: BLE001 - no credentials file is a normal setup
            credentials = {}
        key = ((credentials or {}).get("openai") or {}).get("api_key")
        if key:
            register_api_key(str(key))

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if not _uses_teacher(pipeline) or TEACHER_INPUT not in catalog:
            return
        replay = load_settings(catalog.load(TEACHER_INPUT)).replay
        if not replay.serve:
            return
        from lamini_lm.teacher.replay.handle import corpus_from_settings, start

        corpus = corpus_from_settings(replay)
        try:
            handle = start(replay, corpus=corpus)
        except OSError as err:  # the port is taken (by another run's replay teacher, say)
            logger.info("%s:%d: %s; serving this run's replay teacher on a free port.", replay.host, replay.port, err)
            handle = start(replay, port=0, corpus=corpus)
        self._servers[run_params["run_id"]] = handle
        logger.info("Replay teacher (recorded real outputs, not a model) serving %s.", handle.base_url)

    @hook_impl
    def before_node_run(self, node: Any, inputs: dict[str, Any], run_id: str | None) -> dict[str, Any] | None:
        handle = self._servers.get(run_id)
        if handle is None or TEACHER_INPUT not in node.inputs:
            return None
        settings = load_settings(inputs[TEACHER_INPUT])
        return {TEACHER_INPUT: settings.model_copy(update={"base_url": handle.base_url})}

    @hook_impl
    def after_node_run(self, node: Any, inputs: dict[str, Any], outputs: dict[str, Any]) -> None:
        if TEACHER_INPUT not in node.inputs or not load_settings(inputs[TEACHER_INPUT]).dry_run:
            return
        projected = [
            value.attrs["teacher"]
            for value in outputs.values()
            if isinstance(value, pd.DataFrame) and "teacher" in value.attrs
        ]
        summary = (
            "; ".join(
                f"{p['requests']} request(s) to send ({p.get('cached', 0)} cached), ~{p['prompt_tokens']} prompt "
                f"tokens, <= {p['max_completion_tokens']} completion tokens, <= ${p['projected_cost_usd']:.4f}"
                for p in projected
            )
            or "see the projection logged above"
        )
        raise TeacherDryRun(
            f"dry run: nothing sent (teacher.dry_run: true). Node {node.name} projected: {summary}. The run stops "
            "here and none of that node's outputs were saved; set teacher.dry_run: false to send."
        )

    def _stop(self, run_params: dict[str, Any]) -> None:
        handle = self._servers.pop(run_params["run_id"], None)
        if handle is not None:
            stats = dict(handle.stats)
            handle.stop()
            logger.info("Replay teacher stopped: %s.", stats)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._stop(run_params)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._stop(run_params)
