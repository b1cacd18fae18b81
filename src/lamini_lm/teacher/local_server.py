"""A real model behind the ``openai`` backend: ``transformers serve`` on 127.0.0.1 for one run.

:func:`start_local_server` runs ``transformers serve <served name> --host H --port P --device D``
(the CLI that ships with transformers 5; OpenAI-compatible: ``/v1/chat/completions``,
``/v1/models``, ``/health``) in a subprocess, waits until it lists its model, and returns a
:class:`LocalServer` that :meth:`~LocalServer.stop` ends. The configured port is used when it is
free, otherwise (another run's server, say) a free one.

The served name is the one the teacher sends as ``model`` and the one the server answers with
(so it becomes each result's ``teacher_model``, e.g. ``local:SmolLM2-135M-Instruct``):
``transformers serve`` names a local model by its path and refuses requests for any other name, so
the server runs in a private folder that holds one symbolic link, ``<served name>`` → the model
folder (the counterpart of vLLM's ``--served-model-name``).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

logger = logging.getLogger(__name__)
TAIL_LINES = 40
PARAMETERS_KEY = "local_server"


class LocalServerSettings(BaseModel):
    """``params:local_server``: whether and how a run serves a local model for its ``openai`` teacher."""

    model_config = ConfigDict(extra="forbid")

    serve: bool = Field(description="Serve the model during a `kedro run` that uses params:teacher.")
    model_dataset: str = Field(
        min_length=1, description="The catalog entry whose load() gives the model folder (e.g. packaged_model)."
    )
    host: str = Field(description="Interface the server binds (127.0.0.1: this machine only).")
    port: int = Field(ge=0, le=65535, description="Port of the server; a free one if it is taken (0: always free).")
    device: str = Field(description="transformers serve --device (cpu, cuda:0, auto).")
    dtype: str = Field(description="transformers serve --dtype (auto, float32, bfloat16, ...).")
    continuous_batching: bool = Field(
        description=(
            "transformers serve --continuous-batching. Its sampling settings are those of the first request for "
            "the whole server (transformers 5.24), so a run that mixes temperatures should keep it off."
        )
    )
    torch_threads: int | None = Field(ge=1, description="OMP_NUM_THREADS of the server process; null: inherited.")
    start_timeout_s: float = Field(gt=0, description="Longest wait for the server to load the model and answer.")
    stop_timeout_s: float = Field(gt=0, description="Wait after SIGTERM before the server is killed.")


def local_server_settings(value: LocalServerSettings | Mapping[str, Any]) -> LocalServerSettings:
    """``params:local_server`` as :class:`LocalServerSettings` (Kedro hands either form)."""
    if isinstance(value, LocalServerSettings):
        return value
    if hasattr(value, "model_dump"):
        value = value.model_dump()
    return LocalServerSettings.model_validate(dict(value))


class LocalServerError(RuntimeError):
    """The local server did not start (the message holds the end of its log)."""


def port_is_free(host: str, port: int) -> bool:
    """Whether ``host:port`` can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str) -> int:
    """A port of ``host`` that is free now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def choose_port(host: str, port: int) -> int:
    """``port`` if it is free (and not 0), else a free one."""
    if port and port_is_free(host, port):
        return port
    chosen = free_port(host)
    if port:
        logger.info("%s:%d is taken; serving this run's local model on port %d.", host, port, chosen)
    return chosen


def served_name_is_valid(name: str) -> bool:
    """A served name is one folder entry: no path separator, not hidden, not a GGUF file name."""
    return (
        bool(name)
        and "/" not in name
        and os.sep not in name
        and not name.startswith(".")
        and not name.endswith(".gguf")
    )


@dataclass
class LocalServer:
    """A running ``transformers serve`` subprocess and where it answers."""

    process: subprocess.Popen
    host: str
    port: int
    served_name: str
    folder: str
    workdir: Path
    log_path: Path
    started_s: float = 0.0
    _stopped: bool = field(default=False, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def log_tail(self, lines: int = TAIL_LINES) -> str:
        """The last ``lines`` lines of the server's stdout and stderr."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 10.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; removes the private folder. Idempotent."""
        if self._stopped:
            return
        self._stopped = True
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout_s)
        shutil.rmtree(self.workdir, ignore_errors=True)
        _RUNNING.discard(self)

    __hash__ = object.__hash__


_RUNNING: set[LocalServer] = set()


@atexit.register
def _stop_all() -> None:  # a run killed by an exception no hook saw must not leave a server behind
    for server in list(_RUNNING):
        server.stop(timeout_s=5.0)


def serve_command(served_name: str, host: str, port: int, settings: LocalServerSettings) -> list[str]:
    """The ``transformers serve`` command line (run with this interpreter)."""
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", served_name]
    command += ["--host", host, "--port", str(port), "--device", settings.device, "--dtype", settings.dtype]
    command += ["--continuous-batching" if settings.continuous_batching else "--no-continuous-batching"]
    return [*command, "--log-level", "info"]


def _environment(settings: LocalServerSettings) -> dict[str, str]:
    env = dict(os.environ)
    # The model is a local folder: nothing to look up on the hub, and no update check.
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HUB_DISABLE_UPDATE_CHECK="1", DO_NOT_TRACK="1")
    env.setdefault("TOKENIZERS_PARALLELISM", "false")
    if settings.torch_threads is not None:
        env["OMP_NUM_THREADS"] = str(settings.torch_threads)
    return env


def _models(base: str) -> list[str] | None:
    """The ids ``GET /v1/models`` lists, or None while the server does not answer."""
    try:
        with urllib.request.urlopen(f"{base}/v1/models", timeout=2) as reply:
            data = json.loads(reply.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None
    return [str(item.get("id")) for item in data.get("data") or [] if isinstance(item, dict)]


def _launch(folder: Path, served_name: str, host: str, port: int, settings: LocalServerSettings) -> LocalServer:
    workdir = Path(tempfile.mkdtemp(prefix="lamini-local-server-"))
    (workdir / served_name).symlink_to(folder.resolve(), target_is_directory=True)
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            serve_command(served_name, host, port, settings),
            cwd=workdir,
            env=_environment(settings),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = LocalServer(process, host, port, served_name, str(folder), workdir, log_path, time.monotonic())
    _RUNNING.add(server)
    return server


def _wait_ready(server: LocalServer, timeout_s: float) -> None:
    deadline = server.started_s + timeout_s
    base = f"http://{server.host}:{server.port}"
    while True:
        if not server.running():
            raise LocalServerError(
                f"transformers serve exited with code {server.process.returncode} before answering on "
                f"{server.host}:{server.port}. Its log ends with:\n{server.log_tail()}"
            )
        listed = _models(base)
        if listed is not None and server.served_name in listed:
            return
        if time.monotonic() > deadline:
            tail = server.log_tail()
            server.stop()
            raise LocalServerError(
                f"transformers serve did not list {server.served_name!r} on {base} within {timeout_s:.0f} s "
                f"(params:local_server.start_timeout_s; answered: {listed}). Its log ends with:\n{tail}"
            )
        time.sleep(0.25)


def start_local_server(
    folder: str | Path, served_name: str, settings: LocalServerSettings, *, port: int | None = None
) -> LocalServer:
    """Serve the model ``folder`` as ``served_name`` on ``settings.host`` and return once it answers.

    ``port`` (default ``settings.port``) is used if free, else a free port; a server that loses a race
    for its port is started once more on another one. Raises :class:`LocalServerError` with the end of
    the server's log when it exits or does not answer within ``settings.start_timeout_s``.
    """
    folder = Path(folder)
    if not (folder / "config.json").is_file():
        raise LocalServerError(f"{folder} is not a Hugging Face model folder (no config.json).")
    if not served_name_is_valid(served_name):
        raise LocalServerError(
            f"Cannot serve a model as {served_name!r}: the served name (params:teacher.model) must be one "
            "folder entry, without '/', not hidden and not ending in .gguf."
        )
    requested = settings.port if port is None else port
    for attempt in range(2):
        chosen = choose_port(settings.host, requested if attempt == 0 else 0)
        server = _launch(folder, served_name, settings.host, chosen, settings)
        try:
            _wait_ready(server, settings.start_timeout_s)
        except LocalServerError:
            taken = "address already in use" in server.log_tail().lower()
            server.stop(settings.stop_timeout_s)
            if taken and attempt == 0:
                logger.info("Port %d was taken before the server bound it; trying a free port.", chosen)
                continue
            raise
        logger.info(
            "Local model %s serving %s as %r (transformers serve, %.0f s to load).",
            folder,
            server.base_url,
            served_name,
            time.monotonic() - server.started_s,
        )
        return server
    raise AssertionError("unreachable")  # pragma: no cover


@contextlib.contextmanager
def local_server(folder: str | Path, served_name: str, settings: LocalServerSettings, *, port: int | None = None):
    """:func:`start_local_server` as a context manager (stopped on exit, error or not)."""
    server = start_local_server(folder, served_name, settings, port=port)
    try:
        yield server
    finally:
        server.stop(settings.stop_timeout_s)
