"""The project's own metrics as Hugging Face ``evaluate`` modules, shipped inside the package.

Each folder ``<name>/`` holds ``<name>.py`` (an ``evaluate`` module: ``_info()`` and ``_compute()``)
and ``README.md`` (its card, in ``evaluate``'s format). They load by path, so they work offline: the
hub's metric scripts are never fetched. :func:`load` is ``evaluate.load(<that folder>)``; the
pipelines compute every one of these numbers through it (docs/metrics.md).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

NAMES = (
    "rouge_l_fidelity",
    "mattr",
    "distinct_n",
    "judge_agreement",
    "hallucination_count",
    "toxicity_count",
)
HERE = Path(__file__).resolve().parent


def path(name: str) -> Path:
    """The folder of the module ``name`` (what ``evaluate.load`` takes)."""
    if name not in NAMES:
        raise ValueError(f"lamini_lm.metrics: no module {name!r}; the package ships {', '.join(NAMES)}.")
    return HERE / name


def load(name: str) -> Any:
    """``evaluate.load`` of the package's module ``name``, by path (offline), kept in memory.

    Loading copies the script into ``evaluate``'s modules cache once (later loads find it there, a
    few milliseconds); load once per node and call ``compute()`` as often as needed. ``keep_in_memory``:
    ``compute()`` writes no Arrow cache file, so parallel runs cannot collide on one.
    """
    import evaluate  # slow import (~5 s, it pulls transformers): only where a metric is computed

    return evaluate.load(str(path(name)), keep_in_memory=True)
