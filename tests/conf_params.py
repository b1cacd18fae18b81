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


def one_item_evaluation(benchmarks: dict[str, Any]) -> dict[str, Any]:
    """conf/local overrides for an evaluation run in a test session: ``benchmarks`` as given, one item of
    everything else (2-token answers, no toxicity classifier, no judge retries, no MLflow tracking)."""
    return {
        "evaluation": {
            "benchmarks": copy.deepcopy(benchmarks),
            "generation": {"max_new_tokens": 2, "batch_size": 4},
            "user_oriented": {"limit": 1},
            "alpaca_eval": {"limit": 1},
            "falseqa": {"limit": 1},
            "lamini_hallucination": {"per_category": 1},
            "fidelity": {"limit": 1},
            "toxicity": {"classifier": None, "limit": 1},
            "judge": {"max_retries": 0, "check": {"instructions": 1}},
            "tracking": {"enabled": False},
        }
    }
