"""Parameters for tests, taken from conf/ (the one place where default values live).

``conf_block("distillation.cleaning", drop_echo=False)`` is conf/base's block with overrides merged
on top (nested dicts merge, other values replace); validate it with the pipeline's typed model.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from lamini_lm.parameters import load_parameters


@functools.cache
def _parameters(env: str) -> dict[str, Any]:
    return load_parameters(env)


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` deep-merged on top (a new dict; ``base`` is not changed)."""
    merged = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def conf_block(path: str, env: str = "base", **overrides: Any) -> dict[str, Any]:
    """The parameters at dotted ``path`` (e.g. ``"teacher"``, ``"evaluation.judge"``) with overrides."""
    block: Any = _parameters(env)
    for key in path.split("."):
        block = block[key]
    return merge(block, overrides) if isinstance(block, dict) else copy.deepcopy(block)
