"""What a peer script and the benchmark that runs it agree on (standard library only).

A peer script runs in the peers' own virtual environment (``make bench-peers`` builds
``.venv-bench`` from ``benchmarks/requirements-peers.txt``), where the project is not installed:
it imports this module as a sibling (``from protocol import ...``), the benchmarks import it as
``peers.protocol``. The script prints exactly one result line, ``MARKER`` + a JSON object, on
stdout; anything else it or its libraries print is ignored. A peer whose import fails prints
``{"status": "not_installed", ...}`` instead of a traceback, so the benchmark can say so.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from importlib.metadata import PackageNotFoundError, version

MARKER = "BENCH-PEER-RESULT "
NOT_INSTALLED = "not installed (make bench-peers)"


def emit(**fields) -> None:
    """Print the one result line."""
    print(MARKER + json.dumps(fields), flush=True)


def missing(exc: ImportError) -> None:
    """Report a failed peer import as ``not_installed`` and exit (status 0: the report is the result)."""
    emit(status="not_installed", missing=getattr(exc, "name", None) or str(exc), detail=str(exc))
    sys.exit(0)


def versions(*distributions: str) -> str:
    """``"name 1.2.3, other 4.5"`` for the installed ``distributions`` (a missing one says so)."""

    def one(name: str) -> str:
        try:
            return f"{name} {version(name)}"
        except PackageNotFoundError:
            return f"{name} not installed"

    return ", ".join(one(name) for name in distributions)


def read_strings(path, what: str) -> list[str]:
    """The JSON list of strings at ``path`` (a pathlib.Path); anything else exits naming the file and ``what``."""
    values = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise SystemExit(f"{path}: expected a JSON list of {what}")
    return values


def process_cpu_s() -> float:
    """CPU seconds of this process (all threads) plus its reaped child processes."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


class Window:
    """Wall and CPU seconds of the ``with`` block (what a peer's figures cover; imports are outside).

    CPU is :func:`process_cpu_s`: worker processes count once they have been reaped.
    """

    wall_s: float
    cpu_s: float

    def __enter__(self) -> Window:
        self._cpu, self._wall = process_cpu_s(), time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = process_cpu_s() - self._cpu
