"""Evaluation of the herd: lm-eval benchmarks, judged instructions, hallucination, toxicity, fidelity."""

from lamini_lm.pipelines.evaluation.pipeline import create_pipeline

__all__ = ["create_pipeline"]
