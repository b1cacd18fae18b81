"""Typed parameters of the instruction_generation pipeline (``params:instruction_generation``).

Kedro validates a Pydantic-typed ``params:`` argument before any node runs, so a bad override in
``conf/<env>/parameters_instruction_generation.yml`` fails early, naming the key. The values
themselves live in conf/ only: a field conf/base sets has no default here.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

ORIGINAL_SOURCES = ("seed", "alpaca", "original_p3", "original_flan")
GENERATED_SOURCES = (
    "self_instruct_without_topic",
    "self_instruct_with_topic",
    "generated_p3",
    "generated_flan",
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _reject_unknown(names: Iterable[str], known: tuple[str, ...], what: str, hint: str) -> None:
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown {what} {unknown}; {hint} {list(known)}")


class TopicParams(_Strict):
    """``topics``: the Wikipedia category list behind topic-guided prompts."""

    keep: int = Field(ge=1, description="How many categories the topic list keeps (paper: ~3.5K).")
    max_words: int = Field(
        ge=1, description="Longest category name kept, in words (paper: fewer than three words, i.e. 2)."
    )
    extra_maintenance_patterns: list[str] = Field(
        description="Regexes of further maintenance categories to drop, added to nodes.MAINTENANCE_PATTERNS."
    )


class StrategyParams(_Strict):
    """``generation.strategies.<tag>``: how one LaMini source tag is generated."""

    example_sources: list[str] = Field(
        description=f"Original sources the prompt's examples come from {ORIGINAL_SOURCES}."
    )
    target_instructions: int = Field(ge=0, description="Instructions requested from the teacher (0: skip the tag).")
    instructions_per_prompt: int = Field(
        ge=1, description="Instructions asked for per prompt (paper: 20 for Self-Instruct, 10 for P3 and FLAN)."
    )
    examples_from_one_subset: bool = Field(
        description="Draw all of a prompt's examples from one subset (one P3 template / FLAN task), as the paper "
        "does for P3 and FLAN; the subset is chosen uniformly at random per prompt."
    )
    topic_guided: bool = Field(
        description="Also show Wikipedia topics in the prompt (the paper's topic-guided prompts)."
    )

    @field_validator("example_sources")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        _reject_unknown(value, ORIGINAL_SOURCES, "example source(s)", "use")
        return value


class GenerationParams(_Strict):
    """``generation``: the prompts sent to the teacher."""

    examples_per_prompt: int = Field(ge=1, description="Examples shown per prompt (paper: 3).")
    topics_per_prompt: int = Field(ge=1, description="Topics shown per topic-guided prompt (paper: 3).")
    temperature: float = Field(ge=0, le=2, description="Sampling temperature sent with every prompt.")
    max_tokens: int = Field(ge=16, description="Completion token cap sent with every prompt.")
    strategies: dict[str, StrategyParams] = Field(description=f"Per LaMini tag {GENERATED_SOURCES}: its strategy.")

    @field_validator("strategies")
    @classmethod
    def _tags(cls, value: dict[str, StrategyParams]) -> dict[str, StrategyParams]:
        _reject_unknown(value, GENERATED_SOURCES, "strategy tag(s)", "LaMini's are")
        return value


class FilterParams(_Strict):
    """``filters``: Self-Instruct's quality rules for generated instructions."""

    min_words: int = Field(ge=0, description="Shorter instructions are rejected (too_short).")
    max_words: int = Field(ge=1, description="Longer instructions are rejected (too_long).")
    max_words_by_source: dict[str, int] = Field(
        description="max_words per generated source tag where it differs (P3/FLAN prompts carry passages)."
    )
    blocked_keywords: list[str] = Field(
        description="Whole words a text-only model cannot act on (image, graph, ...): keyword:<kw>."
    )
    echo_threshold: float = Field(
        gt=0, le=1, description="ROUGE-L above which an instruction echoes one of its prompt's examples."
    )

    def max_words_for(self, source: str) -> int:
        """The word limit of ``source``: its ``max_words_by_source`` entry, else ``max_words``."""
        return self.max_words_by_source[source] if source in self.max_words_by_source else self.max_words


class DedupParams(_Strict):
    """``dedup``: exact and near-duplicate removal (MinHash LSH candidates confirmed by ROUGE-L).

    Near-duplicate removal is our addition (Self-Instruct's rule): the paper removes none.
    """

    near_duplicates: bool = Field(
        description="Also drop near duplicates (ROUGE-L above rouge_threshold with a kept row): our addition, "
        "Self-Instruct's rule; the paper does none. Exact duplicates are always dropped (asked once anyway)."
    )
    lsh_threshold: float = Field(gt=0, lt=1, description="Jaccard threshold the LSH banding is tuned for.")
    num_perm: int = Field(ge=8, le=1024, description="MinHash permutations.")
    rouge_threshold: float = Field(
        gt=0, le=1, description="A candidate pair is a duplicate when ROUGE-L F exceeds this (Self-Instruct: 0.7)."
    )
    false_negative_weight: float = Field(
        gt=0, lt=1, description="Weight of missed pairs against extra candidates when choosing the bands."
    )
    bucket_window: int = Field(ge=1, description="In an LSH bucket, compare each row with at most this many before it.")
    jaccard_floor: float = Field(
        ge=0, lt=1, description="Candidates whose MinHash-estimated Jaccard is below this are not scored."
    )


class InstructionGenerationParams(_Strict):
    """The whole ``instruction_generation:`` block of ``parameters_instruction_generation.yml``."""

    seed: int = Field(description="Seed of the example, topic and topic-list sampling and of MinHash.")
    pool_sources: list[str] = Field(
        description="Original sources that enter the pool (seeds are examples and dedup references only)."
    )
    topics: TopicParams = Field(description="The topic list.")
    generation: GenerationParams = Field(description="The generation prompts.")
    filters: FilterParams = Field(description="The quality filters.")
    dedup: DedupParams = Field(description="The de-duplication.")

    @field_validator("pool_sources")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        _reject_unknown(value, ORIGINAL_SOURCES, "pool source(s)", "use")
        return value
