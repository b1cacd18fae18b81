"""Run a peer (a library users would pick instead of ours) as a subprocess in the peers' venv.

The peers pin versions of datasets, huggingface_hub, openai and pydantic that the project cannot
use, so they live in their own virtual environment (``make bench-peers`` → ``.venv-bench``). A
benchmark adds ``--peers-python`` with :func:`add_peers_python_argument` and calls
:func:`run_peer` for each peer script in this folder; every call returns a row with a ``status``:
``"ok"`` plus the script's fields, :data:`~peers.protocol.NOT_INSTALLED` when that python or the
peer's import is missing, or ``"failed: ..."``. Nothing is skipped silently.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import time
from pathlib import Path

from peers.protocol import MARKER, NOT_INSTALLED

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_PEERS_PYTHON = ROOT / ".venv-bench" / "bin" / "python"


def add_peers_python_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--peers-python",
        type=Path,
        default=DEFAULT_PEERS_PYTHON,
        help="the python of the peers' venv (make bench-peers builds .venv-bench; default: %(default)s)",
    )


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _result_line(stdout: str) -> dict | None:
    lines = [line[len(MARKER) :] for line in stdout.splitlines() if line.startswith(MARKER)]
    return json.loads(lines[-1]) if lines else None


def _tail(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"


def run_peer(
    python: Path | str,
    script: Path | str,
    args: list[str] | tuple[str, ...] = (),
    *,
    timeout_s: float = 600,
    env: dict[str, str] | None = None,
) -> dict:
    """Run ``python script *args`` and return its result line as a dict with ``status`` added.

    ``script`` is a path or a file name in this folder. The row also has ``process_wall_s`` and
    ``process_cpu_s``: the whole subprocess, start-up imports included (the script's own figures
    cover only what it timed). The script's ``PYTHONPATH`` is this folder only (so it finds
    :mod:`protocol`, and nothing of the project's environment leaks into the peers' venv); ``env``
    adds to or overrides its environment.
    """
    python, script = Path(python), HERE / script
    if not python.exists():
        return {"status": NOT_INSTALLED, "detail": f"{python} does not exist"}
    cpu, wall = _children_cpu_s(), time.perf_counter()
    try:
        done = subprocess.run(
            [str(python), str(script), *map(str, args)],
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            env={**os.environ, "PYTHONPATH": str(HERE), **(env or {})},
            cwd=ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"status": f"failed: timed out after {timeout_s:.0f} s ({script.name})"}
    process = {
        "process_wall_s": round(time.perf_counter() - wall, 2),
        "process_cpu_s": round(_children_cpu_s() - cpu, 2),
    }
    try:
        row = _result_line(done.stdout)
    except json.JSONDecodeError as exc:
        return {"status": f"failed: {script.name} printed a result line that is not JSON ({exc})", **process}
    if row is None:
        return {"status": f"failed (exit {done.returncode}): {_tail(done.stderr or done.stdout)}", **process}
    if row.get("status") == "not_installed":
        return {**row, "status": NOT_INSTALLED, **process}
    if done.returncode != 0:
        return {**row, "status": f"failed (exit {done.returncode}): {_tail(done.stderr)}", **process}
    return {**row, "status": row.get("status", "ok"), **process}
