"""Helpers of the local-LLM tests (a module of its own: ``conftest`` is a name several test folders use)."""

from __future__ import annotations

from conf_params import conf_block

from lamini_lm.pipelines.packaged_model.params import PackagedModelParams


def packaged_params(**overrides) -> PackagedModelParams:
    """conf/local_llm's ``packaged_model`` block with ``overrides``."""
    return PackagedModelParams.model_validate(conf_block("packaged_model", env="local_llm", **overrides))
