"""Typed parameters of the instruction_generation pipeline (``params:instruction_generation``).

Kedro validates a Pydantic-typed ``params:`` argument before any node runs, so a bad override in
``conf/<env>/parameters_instruction_generation.yml`` fails early, naming the key.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lamini_lm.pipelines.instruction_generation.filters import DEFAULT_BLOCKED_KEYWORDS

ORIGINAL_SOURCES = ("seed", "alpaca", "original_p3", "original_flan")
GENERATED_SOURCES = (
    "self_instruct_without_topic",
    "self_instruct_with_topic",
    "generated_p3",
    "generated_flan",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TopicParams(_Strict):
    keep: int = Field(3500, ge=1, description="How many categories the topic list keeps (paper: ~3.5K).")
    max_words: int = Field(3, ge=1, description="Longest category name kept, in words.")
    extra_maintenance_patterns: list[str] = []


class StrategyParams(_Strict):
    example_sources: list[str]
    target_instructions: int = Field(ge=0, description="Instructions requested from the teacher.")
    topic_guided: bool = False

    @field_validator("example_sources")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(ORIGINAL_SOURCES))
        if unknown:
            raise ValueError(f"unknown example source(s) {unknown}; use {list(ORIGINAL_SOURCES)}")
        return value


class GenerationParams(_Strict):
    instructions_per_prompt: int = Field(20, ge=1)
    examples_per_prompt: int = Field(3, ge=1)
    topics_per_prompt: int = Field(3, ge=1)
    temperature: float = Field(1.0, ge=0, le=2)
    max_tokens: int = Field(1024, ge=16)
    strategies: dict[str, StrategyParams]

    @field_validator("strategies")
    @classmethod
    def _tags(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(GENERATED_SOURCES))
        if unknown:
            raise ValueError(f"unknown strategy tag(s) {unknown}; LaMini's are {list(GENERATED_SOURCES)}")
        return value


class FilterParams(_Strict):
    min_words: int = Field(3, ge=0)
    max_words: int = Field(150, ge=1)
    max_words_by_source: dict[str, int] = {}
    blocked_keywords: list[str] = list(DEFAULT_BLOCKED_KEYWORDS)
    echo_threshold: float = Field(0.7, gt=0, le=1)


class DedupParams(_Strict):
    lsh_threshold: float = Field(0.4, gt=0, lt=1)
    num_perm: int = Field(128, ge=8, le=1024)
    rouge_threshold: float = Field(0.7, gt=0, le=1)
    false_negative_weight: float = Field(0.5, gt=0, lt=1)
    bucket_window: int = Field(16, ge=1)
    jaccard_floor: float = Field(0.35, ge=0, lt=1)


class InstructionGenerationParams(_Strict):
    seed: int = 42
    pool_sources: list[str] = ["alpaca", "original_p3", "original_flan"]
    topics: TopicParams = TopicParams()
    generation: GenerationParams
    filters: FilterParams = FilterParams()
    dedup: DedupParams = DedupParams()


def as_params(params: InstructionGenerationParams | dict) -> InstructionGenerationParams:
    """``params`` as the typed model (nodes called directly or from an in-memory catalog get dicts)."""
    if isinstance(params, InstructionGenerationParams):
        return params
    return InstructionGenerationParams.model_validate(params)
