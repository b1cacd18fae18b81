"""Wiring of the packaged_model pipeline: the packaged GGUF → ``packaged_model`` (a Hugging Face folder).

The pipeline has its node only in environments that set ``packaged_model:`` (conf/local_llm), so
``__default__`` of conf/base is unchanged. In such an environment the node has no upstream node,
so it is in the first group the runner executes: the folder exists before the first teacher call,
training of a member whose ``checkpoint:`` is that folder, or evaluation. When the folder is up to
date the node costs a checksum of the GGUF file (see :mod:`lamini_lm.datasets.packaged_model`).
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from lamini_lm.herd import ACTIVE_HERD
from lamini_lm.pipelines.packaged_model.nodes import convert_packaged_model
from lamini_lm.pipelines.packaged_model.params import PARAMETERS_KEY


def create_pipeline(enabled: bool | None = None, **kwargs) -> Pipeline:
    """The conversion node, or no node where the active environment sets no ``packaged_model:``."""
    if enabled is None:
        enabled = PARAMETERS_KEY in ACTIVE_HERD.parameters()
    if not enabled:
        return Pipeline([])
    return Pipeline(
        [
            Node(
                convert_packaged_model,
                inputs=["packaged_model_gguf", f"params:{PARAMETERS_KEY}"],
                outputs="packaged_model",
                name="convert_packaged_model_node",
            )
        ],
        tags="packaged_model",
    )
