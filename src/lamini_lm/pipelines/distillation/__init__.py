"""Distillation: the teacher answers the instruction pool; a clean, analysed LaMini dataset."""

from lamini_lm.pipelines.distillation.pipeline import create_data_pipeline, create_pipeline

__all__ = ["create_data_pipeline", "create_pipeline"]
