"""The arguments and result of every teacher peer script (standard library only).

The benchmark (``benchmarks/teacher_throughput.py``) writes the prompts to a JSON file (a list of
strings, each sent as one user message) and starts the replay teacher; each script sends every
prompt once at ``--concurrency`` with the same ``model``, ``max_tokens`` and ``temperature`` as
``complete()`` and prints one result line (:func:`report`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from protocol import Window, emit, read_strings


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--base-url", required=True, help="the OpenAI-compatible endpoint, e.g. http://127.0.0.1:8765/v1"
    )
    parser.add_argument("--prompts", type=Path, required=True, help="a JSON list of prompt strings")
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--model", default="gpt-3.5-turbo")
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--work-dir", type=Path, required=True, help="an empty folder for the peer's own files")
    return parser.parse_args()


def load_prompts(path: Path) -> list[str]:
    return read_strings(path, "prompt strings")


def report(runner: str, version: str, prompts: list[str], answers: list, window: Window, **extra) -> None:
    """Print the result line: how many prompts got a non-empty answer, and the timed window's wall and CPU."""
    answered = sum(1 for a in answers if isinstance(a, str) and a.strip())
    emit(
        status="ok",
        runner=runner,
        version=version,
        requests=len(prompts),
        answered=answered,
        wall_s=window.wall_s,
        cpu_s=window.cpu_s,
        **extra,
    )
