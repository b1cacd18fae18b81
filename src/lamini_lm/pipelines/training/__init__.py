"""Training: fine-tune each herd member on the LaMini dataset (one namespaced template per member)."""

from lamini_lm.pipelines.training.pipeline import create_pipeline

__all__ = ["create_pipeline"]
