"""Typed parameters of the distillation pipeline (``params:distillation``).

Each node takes the sub-model of its block (``params:distillation.cleaning`` is a
``CleaningParams``); Kedro validates Pydantic-typed ``params:`` inputs before any node runs, so a
bad value in ``conf/<env>/parameters_distillation.yml`` fails early, naming the key. The values
themselves live in conf/ only: a field conf/base sets has no default here.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RequestParams(_Strict):
    """``distillation.requests``: one chat request per distinct ``instruction_pool`` row."""

    system_prompt: str | None = Field(
        description="System message sent before each instruction (EACL App. B: LaMini-LM's); null or empty: none."
    )
    temperature: float | None = Field(ge=0, description="Sampling temperature per request; null: params:teacher's.")
    max_tokens: int | None = Field(ge=1, description="Completion token cap per request; null: params:teacher's.")
    top_p: float | None = Field(gt=0, le=1, description="Nucleus sampling per request; null: params:teacher's.")
    limit: int | None = Field(
        ge=0, description="Ask only N distinct instructions, taken in turn from each source; null: all of them."
    )
    max_prompt_tokens: int = Field(
        ge=1,
        description="A request whose prompt (system message + instruction) counts more tokens than this "
        "(lamini_lm.teacher.tokens.count_prompt_tokens: words and punctuation marks, approximate) is not sent: "
        "it is recorded as failed:prompt_too_long in the cleaning log. Set it to the teacher model's context "
        "length minus the completion cap.",
    )


class CleaningParams(_Strict):
    """``distillation.cleaning``: which teacher answers are dropped (or flagged), each with a reason."""

    truncated: Literal["drop", "flag"] = Field(
        description="Answers cut by max_tokens (finish_reason=length): drop them, or keep and list them in the log."
    )
    drop_echo: bool = Field(description="Drop answers that only repeat the instruction.")
    echo_min_new_chars: int = Field(
        ge=0, description="An echo adds fewer than this many characters to the instruction it contains."
    )
    refusal_window_chars: int = Field(ge=1, description="How much of the answer's opening the refusal patterns search.")
    refusal_patterns: list[str] = Field(
        description="Regular expressions (RE2 syntax, case-insensitive) that mark a refusal in the answer's opening."
    )

    @field_validator("refusal_patterns")
    @classmethod
    def _compile(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"refusal pattern {pattern!r} is not a regular expression ({exc})") from None
        return patterns


class ImportSource(_Strict):
    """``distillation.imports.<name>``: one published distilled dataset merged into ``lamini_dataset``."""

    name: str = Field(
        description="The source's key under distillation.imports (its catalog entry: distillation_<name>_raw)."
    )
    enabled: bool = Field(description="False: the source contributes no rows.")
    format: Literal["fmengine_text", "alpaca", "columns"] = Field(
        description="fmengine_text: `text` = instruction + separator + response; alpaca: instruction, input, "
        "output; columns: instruction and response columns."
    )
    separator: str | None = Field(
        description="fmengine_text only: the separator between instruction and response (split on the first)."
    )
    instruction_source: str | None = Field(
        description="The instruction_source tag of every row; null when source_column gives it per row."
    )
    source_column: str | None = Field(description="A column holding each row's instruction_source tag; null: none.")
    teacher_model: str | None = Field(description="The model that wrote the responses (the teacher_model column).")
    drop_responses: list[str] = Field(
        description="Response prefixes that mean 'no answer' (e.g. Alpaca's <nooutput>): such rows are dropped."
    )

    @model_validator(mode="after")
    def _complete(self) -> ImportSource:
        needed = ["instruction_source", "teacher_model"] if self.format != "columns" else []
        if self.format == "fmengine_text":
            needed.append("separator")
        missing = [key for key in needed if not getattr(self, key)]
        if missing:
            raise ValueError(f"import source {self.name!r} (format {self.format}) needs {missing}")
        return self


class SplitParams(_Strict):
    """``distillation.assemble.splits``: train/validation labels, stratified by instruction_source."""

    validation_fraction: float = Field(ge=0, lt=1, description="Share of each source's rows sent to validation.")
    min_validation_per_source: int = Field(
        ge=0, description="At least this many validation rows per source that has two rows or more."
    )
    max_validation_per_source: int | None = Field(ge=0, description="At most this many per source; null: no cap.")
    seed: int = Field(description="Seed of the split.")


class AssembleParams(_Strict):
    """``distillation.assemble``: teacher answers ∪ published sources → ``lamini_dataset``."""

    include_teacher_answers: bool = Field(description="Union the teacher's saved cleaned answers with the sources.")
    dedupe: bool = Field(
        description="Drop repeated instructions (case-folded, whitespace collapsed); earlier rows win."
    )
    splits: SplitParams = Field(description="How rows are split into train and validation.")


class ExportParams(_Strict):
    """``distillation.export``: the Hugging Face dataset's card."""

    pretty_name: str = Field(description="The dataset's title on its card.")
    licence: str = Field(description="The card's licence identifier (e.g. cc-by-nc-4.0).")
    date: str | None = Field(description="The card's creation date (ISO); null: today, UTC.")
    licence_notes: str = Field(description="The licence section of the card.")


class PlotNames(_Strict):
    """File names of the plots, as ``summary.md`` links them (the catalog writes them beside it)."""

    lengths: str = Field(description="The token-length histograms.")
    projection: str = Field(description="The 2-D projection of the instruction embeddings.")


class AnalysisParams(_Strict):
    """``distillation.analysis``: what is measured about ``lamini_dataset`` (data/08_reporting)."""

    seed: int = Field(description="Seed of every sample the analysis draws.")
    embedding_model: str = Field(
        description="A sentence-transformers model name or folder (the paper's: all-mpnet-base-v2), named in the output."
    )
    length_tokenizer: str = Field(
        description="The model (name or folder with tokenizer.json) whose tokens are counted."
    )
    device: str = Field(description="Device of the embedding model (cpu, cuda, ...).")
    batch_size: int = Field(ge=1, description="Embedding batch size.")
    progress: bool = Field(description="Show the embedding progress bar.")
    embedding_sample_per_source: int = Field(ge=1, description="Instructions embedded per source.")
    projection: Literal["tsne", "pca"] = Field(description="The 2-D projection of the embeddings.")
    ngram_sample_per_source: int = Field(ge=1, description="Instructions per source for distinct-n.")
    length_sample_size: int | None = Field(
        ge=1, description="Rows tokenised for the length histograms and the Table 1 token counts; null: all."
    )
    mattr_window: int = Field(ge=1, description="MATTR window in words (the paper's Table 2: 50).")
    mattr_sample_per_source: int = Field(ge=1, description="Texts per source whose words MATTR runs over.")
    plots: PlotNames = Field(description="File names of the plots linked from summary.md.")


class DistillationParams(_Strict):
    """The whole ``distillation:`` block of ``parameters_distillation.yml``."""

    requests: RequestParams = Field(description="What is asked of the teacher.")
    cleaning: CleaningParams = Field(description="Which answers are kept.")
    imports: dict[str, ImportSource] = Field(description="Published distilled datasets, by name.")
    assemble: AssembleParams = Field(description="How lamini_dataset is put together.")
    export: ExportParams = Field(description="The Hugging Face export's card.")
    analysis: AnalysisParams = Field(description="The dataset analysis.")

    @field_validator("imports")
    @classmethod
    def _named_by_key(cls, imports: dict[str, ImportSource]) -> dict[str, ImportSource]:
        wrong = {key: source.name for key, source in imports.items() if source.name != key}
        if wrong:
            raise ValueError(f"each import source's name must be its key; got {wrong}")
        return imports


__all__ = [
    "AnalysisParams",
    "AssembleParams",
    "CleaningParams",
    "DistillationParams",
    "ExportParams",
    "ImportSource",
    "PlotNames",
    "RequestParams",
    "SplitParams",
]
