"""The herd: which students exist in the active configuration environment.

The herd is data (``parameters_training.yml``): ``models`` describes every model the project
knows, ``herd`` names the ones the environment trains and evaluates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

_config_loader = None

FAMILIES = ("seq2seq", "causal")


def use_config_loader(config_loader) -> None:
    """Remember the active session's config loader (set by a hook)."""
    global _config_loader  # noqa: PLW0603
    _config_loader = config_loader


def _parameters() -> dict[str, Any]:
    if _config_loader is not None:
        return _config_loader["parameters"]
    # No session yet (e.g. `kedro registry list`): read conf/ for $KEDRO_ENV the way Kedro would.
    from kedro.framework.project import settings

    loader = settings.CONFIG_LOADER_CLASS(
        conf_source=str(Path.cwd() / settings.CONF_SOURCE),
        env=os.environ.get("KEDRO_ENV"),
        **settings.CONFIG_LOADER_ARGS,
    )
    return loader["parameters"]


def herd_members(parameters: dict[str, Any] | None = None) -> list[str]:
    """Names of the herd members, validated against ``models``."""
    params = _parameters() if parameters is None else parameters
    names = list(params.get("herd") or [])
    models = params.get("models") or {}
    for name in names:
        if name not in models:
            raise KeyError(
                f"Herd member '{name}' is listed under 'herd' but has no entry under 'models' "
                "in parameters_training.yml."
            )
        family = models[name].get("family")
        if family not in FAMILIES:
            raise ValueError(
                f"Model '{name}': unknown family {family!r} (key 'models.{name}.family'); expected one of {FAMILIES}."
            )
    if len(set(names)) != len(names):
        raise ValueError(f"The herd lists a model twice: {names}")
    return names
