"""instruction_generation: grow a large, diverse, de-duplicated instruction pool with provenance."""

from lamini_lm.pipelines.instruction_generation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
