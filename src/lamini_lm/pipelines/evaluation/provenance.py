"""Where a herd report comes from: when, from which commit, in which Kedro environment, under which MLflow run.

The report node reads these itself (they are facts about the run, not parameters): the commit once per
process (``git rev-parse HEAD``, cached), the environment from :class:`RunProvenanceHook` (Kedro hands
``env`` to ``before_pipeline_run``), else ``$KEDRO_ENV``, and the MLflow run that is active, if any.
"""

from __future__ import annotations

import functools
import os
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

UNKNOWN = "unknown"


@functools.cache
def git_commit(where: str | None = None) -> str:
    """The commit checked out at ``where`` (default: this package's folder), or ``unknown`` outside a git
    checkout (or without git). Cached: one ``git`` call per process, not one per node."""
    folder = where or str(Path(__file__).resolve().parent)
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return UNKNOWN
    commit = done.stdout.strip()
    if done.returncode != 0 or not commit:
        return UNKNOWN
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    )
    return commit + (" (with uncommitted changes)" if dirty.returncode == 0 and dirty.stdout.strip() else "")


class RunProvenanceHook:
    """Records the Kedro environment of the run in progress (``run_params["env"]``) for the report node.

    Registered in ``settings.HOOKS``; without it (a node called from a test or a notebook) the report falls
    back to ``$KEDRO_ENV``.
    """

    def __init__(self) -> None:
        self.environment: str | None = None

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self.environment = run_params.get("env") or "local (Kedro's default run environment, over base)"

    @hook_impl
    def after_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self.environment = None

    @hook_impl
    def on_pipeline_error(self, error: Exception, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self.environment = None


RUN_PROVENANCE = RunProvenanceHook()


def kedro_environment() -> str:
    """The run's Kedro environment (:data:`RUN_PROVENANCE`), else ``$KEDRO_ENV``, else ``unknown``."""
    return RUN_PROVENANCE.environment or os.environ.get("KEDRO_ENV") or UNKNOWN


def mlflow_run_id() -> str | None:
    """The active MLflow run's id (kedro-mlflow's run during ``kedro run``), or None."""
    import mlflow  # imported when a report is built, not with the pipeline

    run = mlflow.active_run()
    return run.info.run_id if run is not None else None


def built_at() -> str:
    """Now, in UTC, to the second."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
