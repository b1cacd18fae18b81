"""Reading a herd member's entry: which model, which hyper-parameters. Errors name model and key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from lamini_lm.herd import FAMILIES

HYPERPARAMETER_DEFAULTS: dict[str, Any] = {
    "warmup_ratio": 0.0,
    "weight_decay": 0.0,
    "lr_scheduler_type": "linear",
    "max_steps": -1,
    "eval_batch_size": None,
    "adam_beta1": 0.9,
    "adam_beta2": 0.999,
    "adam_epsilon": 1e-8,
}
REQUIRED_HYPERPARAMETERS = (
    "learning_rate",
    "effective_batch_size",
    "per_device_batch_size",
    "epochs",
    "max_length",
)
POSITIVE_INTEGERS = ("effective_batch_size", "per_device_batch_size", "max_length")


class ModelConfigError(ValueError):
    """A herd member's entry in parameters_training.yml is wrong; the message says where."""


def check_model_entry(name: str, model: dict[str, Any]) -> None:
    """Fail early on an unknown family, both/neither of checkpoint and config, a missing local path."""
    family = model.get("family")
    if family not in FAMILIES:
        raise ModelConfigError(
            f"Model '{name}': unknown family {family!r} (key 'models.{name}.family'); expected one of {FAMILIES}."
        )
    has_checkpoint, has_config = bool(model.get("checkpoint")), bool(model.get("config"))
    if has_checkpoint == has_config:
        raise ModelConfigError(
            f"Model '{name}': give exactly one of 'models.{name}.checkpoint' (hub id or local path) "
            f"or 'models.{name}.config' (an architecture built from config)."
        )
    if has_checkpoint and is_local_path(model["checkpoint"]) and not Path(model["checkpoint"]).exists():
        raise ModelConfigError(
            f"Model '{name}': checkpoint path '{model['checkpoint']}' (key 'models.{name}.checkpoint') does not "
            "exist. Give an existing folder or a hub id such as 'google/flan-t5-small'."
        )
    if has_config and "model_type" not in model["config"]:
        raise ModelConfigError(f"Model '{name}': 'models.{name}.config' needs a 'model_type' (e.g. t5, gpt2).")


def is_local_path(checkpoint: str) -> bool:
    """A checkpoint is a local path if it looks like one (``./``, ``/``, ``~``, ``data/``) or exists."""
    text = str(checkpoint)
    return text.startswith(("/", "./", "../", "~", "data/")) or Path(text).exists()


def resolve_hyperparameters(name: str, model: dict[str, Any], size_classes: dict[str, Any]) -> dict[str, Any]:
    """The size class's hyper-parameters with the model's ``overrides`` on top, validated."""
    size_class = model.get("size_class")
    if size_class not in (size_classes or {}):
        raise ModelConfigError(
            f"Model '{name}': size class {size_class!r} (key 'models.{name}.size_class') is not defined under "
            f"'size_classes' (have: {sorted(size_classes or {})})."
        )
    resolved = {**HYPERPARAMETER_DEFAULTS, **size_classes[size_class], **(model.get("overrides") or {})}
    for key in REQUIRED_HYPERPARAMETERS:
        if resolved.get(key) is None:
            raise ModelConfigError(
                f"Model '{name}': hyper-parameter '{key}' is missing (key 'size_classes.{size_class}.{key}' "
                f"or 'models.{name}.overrides.{key}')."
            )
    for key in (*POSITIVE_INTEGERS, "eval_batch_size"):
        value = resolved.get(key)
        if value is None and key == "eval_batch_size":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ModelConfigError(
                f"Model '{name}': '{key}' must be a positive integer, got {value!r} "
                f"(key 'size_classes.{size_class}.{key}' or 'models.{name}.overrides.{key}')."
            )
    if not resolved["learning_rate"] > 0 or not resolved["epochs"] > 0:
        raise ModelConfigError(
            f"Model '{name}': learning_rate and epochs must be positive (size class '{size_class}')."
        )
    resolved["size_class"] = size_class
    return resolved


def gradient_accumulation(hyperparameters: dict[str, Any], world_size: int) -> int:
    """Micro-batches per optimiser step so that per-device batch × devices × steps ≥ effective batch."""
    per_step = hyperparameters["per_device_batch_size"] * max(1, world_size)
    return max(1, math.ceil(hyperparameters["effective_batch_size"] / per_step))
