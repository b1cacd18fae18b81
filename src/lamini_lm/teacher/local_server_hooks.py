"""The Kedro hook that serves a local model (``transformers serve``) to a run's ``openai`` teacher.

When the run's ``params:local_server.serve`` is true and ``params:teacher.backend`` is ``openai``,
the server starts just before the first node that takes ``params:teacher`` — not before the run:
the model folder may be made by that same run (the packaged_model pipeline's node runs first) — on
``local_server.host:port`` or a free port, under the name ``params:teacher.model``. That node and
every later one of the run receives its ``params:teacher`` with ``base_url`` pointing at the run's
server (``before_node_run`` replaces the input), as :class:`lamini_lm.teacher.hooks.TeacherHooks`
does for the replay teacher; the server stops when the run ends or fails (and at interpreter exit).
A run without ``params:local_server`` (conf/base, conf/paper) is left alone.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kedro.framework.hooks import hook_impl

from lamini_lm.teacher.config import load_settings
from lamini_lm.teacher.local_server import (
    PARAMETERS_KEY,
    LocalServer,
    LocalServerError,
    LocalServerSettings,
    local_server_settings,
    start_local_server,
)

logger = logging.getLogger(__name__)
TEACHER_INPUT = "params:teacher"
SERVER_INPUT = f"params:{PARAMETERS_KEY}"


def uses_teacher(pipeline: Any) -> bool:
    """Whether a node of ``pipeline`` takes ``params:teacher`` (or a key of it)."""
    return any(
        name == TEACHER_INPUT or name.startswith(TEACHER_INPUT + ".") for node in pipeline.nodes for name in node.inputs
    )


class LocalServerHooks:
    """A run's local model server: planned (before the run), started (first teacher node), stopped (after)."""

    def __init__(self) -> None:
        self._planned: dict[str | None, LocalServerSettings] = {}  # run id -> how to serve
        self._servers: dict[str | None, LocalServer] = {}  # run id -> the server that run started
        self._lock = threading.Lock()  # a ThreadRunner may reach two teacher nodes at once: one server

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        if not uses_teacher(pipeline) or SERVER_INPUT not in catalog or TEACHER_INPUT not in catalog:
            return
        settings = local_server_settings(catalog.load(SERVER_INPUT))
        if not settings.serve:
            return
        teacher = load_settings(catalog.load(TEACHER_INPUT))
        if teacher.backend != "openai":
            logger.info("params:teacher.backend is %s: no local server is started.", teacher.backend)
            return
        if teacher.replay.serve:
            raise ValueError(
                "params:local_server.serve and params:teacher.replay.serve are both true: one run has one teacher. "
                "Set teacher.replay.serve: false to use the local model."
            )
        self._planned[run_params["run_id"]] = settings

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any], run_id: str | None) -> dict | None:
        settings = self._planned.get(run_id)
        if settings is None or TEACHER_INPUT not in node.inputs:
            return None
        teacher = load_settings(inputs[TEACHER_INPUT])
        with self._lock:
            server = self._servers.get(run_id)
            if server is None or not server.running():
                if server is not None:
                    logger.warning("The local model server stopped during the run; starting it again.")
                    server.stop(settings.stop_timeout_s)
                server = self._servers[run_id] = self._start(settings, catalog, teacher.model)
        return {TEACHER_INPUT: teacher.model_copy(update={"base_url": server.base_url})}

    @staticmethod
    def _start(settings: LocalServerSettings, catalog: Any, served_name: str) -> LocalServer:
        try:
            folder = catalog.load(settings.model_dataset)
        except Exception as err:
            raise LocalServerError(
                f"The local teacher's model (catalog entry {settings.model_dataset!r}, "
                f"params:local_server.model_dataset) cannot be loaded: {err}"
            ) from err
        return start_local_server(str(folder), served_name, settings)

    def _stop(self, run_params: dict[str, Any]) -> None:
        settings = self._planned.pop(run_params["run_id"], None)
        server = self._servers.pop(run_params["run_id"], None)
        if server is not None:
            server.stop(settings.stop_timeout_s if settings else 10.0)
            logger.info("Local model server on %s stopped.", server.base_url)

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._stop(run_params)

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._stop(run_params)
