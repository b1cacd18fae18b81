"""GGUF → a plain ``transformers`` model (float32) and tokenizer that ``save_pretrained`` accepts.

transformers loads a GGUF with ``from_pretrained(folder, gguf_file=name)`` (the ``gguf`` package
dequantises it) but refuses to ``save_pretrained`` a model loaded that way. The weights are copied
into a model built ``from_config`` (every key must match), with ``quantization_config`` dropped
and ``architectures`` set, so the saved folder loads like any hub checkpoint.
"""

from __future__ import annotations

import copy
from typing import Any

from lamini_lm.datasets.packaged_gguf import PackagedGGUF

DTYPE = "float32"


def load_gguf_as_pretrained(gguf: PackagedGGUF, do_sample: bool) -> tuple[Any, Any]:
    """``(model, tokenizer)`` of ``gguf``: a normal float32 causal LM and the file's tokenizer and chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf.path.parent), gguf.file
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    config = copy.deepcopy(quantised.config)
    config.architectures = [type(quantised).__name__]
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    outcome = model.load_state_dict(quantised.state_dict(), strict=False)
    if outcome.missing_keys or outcome.unexpected_keys:
        raise ValueError(
            f"{name}: the dequantised weights do not fit the architecture (missing {outcome.missing_keys[:5]}, "
            f"unexpected {outcome.unexpected_keys[:5]})."
        )
    if getattr(config, "tie_word_embeddings", False):
        model.tie_weights()
    model.generation_config = copy.deepcopy(quantised.generation_config)
    model.generation_config.do_sample = do_sample
    model.eval()
    positions = getattr(config, "max_position_embeddings", None)
    if positions:
        tokenizer.model_max_length = int(positions)
    del quantised
    return model, tokenizer
