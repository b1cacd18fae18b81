"""The herd: which students exist in the active configuration environment.

The herd is data (``parameters_training.yml``): ``models`` describes every model the project
knows, ``herd`` names the ones the environment trains and evaluates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

_config_loader = None

FAMILIES = ("seq2seq", "causal")


class ModelSpec(BaseModel):
    """One entry of ``models:`` in parameters_training.yml: which network a herd member is."""

    model_config = ConfigDict(extra="forbid")

    family: Literal["seq2seq", "causal"] = Field(
        description="seq2seq (encoder-decoder, AutoModelForSeq2SeqLM) or causal (decoder-only, AutoModelForCausalLM)."
    )
    size_class: str = Field(description="The key under size_classes whose hyper-parameters this model trains with.")
    checkpoint: str | None = Field(None, description="Hub id or local folder of pretrained weights (or give config).")
    config: dict[str, Any] | None = Field(
        None, description="An architecture built from config with random weights; needs model_type (e.g. t5, gpt2)."
    )
    tokenizer: dict[str, Any] | None = Field(
        None, description="For config-built models: the byte-level BPE trained on the data (vocab_size, min_frequency)."
    )
    overrides: dict[str, Any] | None = Field(
        None, description="Hyper-parameters replacing the size class's, for this model."
    )
    paper_reference: str | None = Field(None, description="The paper's row reported beside this member (evaluation).")

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        if bool(self.checkpoint) == bool(self.config):
            raise ValueError("give exactly one of 'checkpoint' (hub id or local path) or 'config' (built from config)")
        if self.config is not None and "model_type" not in self.config:
            raise ValueError("'config' needs a 'model_type' (e.g. t5, gpt2)")
        return self


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
