"""Typed parameters of the packaged_model pipeline (``params:packaged_model``).

Only environments that use real packaged weights set the block (``conf/local_llm``); where it is
absent the pipeline has no nodes, so ``conf/base``'s default run neither converts nor waits.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

PARAMETERS_KEY = "packaged_model"


class PackagedModelParams(BaseModel):
    """``packaged_model:``: what the converted folder is and how it generates by default."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        min_length=1, description="The model's name in logs and on its card (e.g. SmolLM2-135M-Instruct)."
    )
    upstream_model: str = Field(
        min_length=1, description="The hub repository the packaged weights were made from (the card's base_model)."
    )
    licence: str = Field(
        min_length=1, description="The licence the weights are used under; must agree with the GGUF's general.license."
    )
    do_sample: bool = Field(
        description=(
            "generation_config.do_sample of the folder. true: an OpenAI-style request with temperature > 0 samples "
            "under `transformers serve` (which only sets do_sample itself for temperature 0)."
        )
    )
