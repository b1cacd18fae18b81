"""The node of the packaged_model pipeline."""

from __future__ import annotations

import functools
import json
from typing import Any

from lamini_lm.datasets.packaged_gguf import PackagedGGUF
from lamini_lm.datasets.packaged_model import ConvertedModel
from lamini_lm.pipelines.packaged_model.convert import DTYPE, load_gguf_as_pretrained
from lamini_lm.pipelines.packaged_model.params import PackagedModelParams

# Raise when the conversion changes what it writes: folders made by an older one are converted again.
CONVERTER_VERSION = 1
DO_SAMPLE_WHY = {
    True: "a request with temperature > 0 samples, as on OpenAI's API (transformers serve sets do_sample only for 0)",
    False: "every request is greedy unless it asks otherwise",
}


def convert_packaged_model(packaged_gguf: PackagedGGUF, params: PackagedModelParams) -> ConvertedModel:
    """The conversion of ``packaged_gguf`` into a Hugging Face folder (run by the dataset only if needed).

    Refuses a file whose declared licence (GGUF ``general.license``) is not ``params.licence``.
    """
    declared = packaged_gguf.metadata.get("license")
    if declared is not None and str(declared).lower() != params.licence.lower():
        raise ValueError(
            f"{packaged_gguf.file} declares licence {declared!r}, but params:packaged_model.licence is "
            f"{params.licence!r}: check the licence before using these weights."
        )
    provenance: dict[str, Any] = {
        "upstream_model": params.upstream_model,
        "licence": params.licence,
        "source": packaged_gguf.provenance(),
        "conversion": {
            "converter_version": CONVERTER_VERSION,
            "quantisation": _quantisation(packaged_gguf.file),
            "dtype": DTYPE,
            "do_sample": params.do_sample,
            "do_sample_why": DO_SAMPLE_WHY[params.do_sample],
        },
    }
    provenance = json.loads(json.dumps(provenance, default=str))  # as it reads back from conversion.json
    return ConvertedModel(
        name=params.name,
        provenance=provenance,
        build=functools.partial(load_gguf_as_pretrained, packaged_gguf, params.do_sample),
    )


def _quantisation(file: str) -> str:
    """``Q4_1`` of ``SmolLM2-135M-Instruct.Q4_1.gguf`` (the file's own naming convention), else ``gguf``."""
    parts = file.removesuffix(".gguf").split(".")
    return parts[-1] if len(parts) > 1 else "gguf"
