"""Typed parameters of the evaluation pipeline (``params:evaluation``).

conf/base/parameters_evaluation.yml sets every value; conf/paper overrides some. Nodes take one
sub-model each (``params:evaluation.generation`` is a :class:`GenerationParams`), which Kedro
validates before any node runs, so a typo in either environment fails early, naming the key.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lamini_lm.teacher.config import TeacherSettings


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BenchmarkParams(_Strict):
    """The zero-shot NLP benchmarks, scored through lm-evaluation-harness."""

    limit: int | None = Field(ge=1, description="First N documents per task (lm-eval --limit); null = the full split.")
    skip: list[str] = Field(description="Task keys left out (e.g. hellaswag); reported as 'skipped'.")
    backend: Literal["hf", "hf_parallelize", "vllm"] = Field(
        description="hf: in-process HFLM; hf_parallelize: one model over all visible GPUs (accelerate device "
        "map); vllm: lm-eval's vLLM backend (decoder-only students, pip install vllm)."
    )
    device: str = Field(description="Where the model (hf) or its inputs (hf_parallelize) go: cpu, cuda, cuda:0, mps.")
    batch_size: int | str = Field(description="lm-eval batch size: a number, or 'auto' (the largest that fits).")
    max_length: int | None = Field(ge=1, description="Longest context lm-eval gives the model; null = its own maximum.")
    work_dir: str | None = Field(
        description="Folder for the exact task YAMLs + JSONL lm-eval reads (reused across runs); null = a temp folder."
    )
    bootstrap_iters: int = Field(ge=0, description="lm-eval's bootstrap iterations for stderr (0 = no stderr).")
    vllm: dict[str, Any] = Field(
        description="Keyword arguments for lm-eval's VLLM, e.g. {tensor_parallel_size: 2, data_parallel_size: 1}."
    )
    task_dirs: list[str] = Field(
        description="Folders of more task files (lamini_<key>.yaml), besides the package's tasks/: relative to the "
        "project root (or absolute), e.g. [conf/local/tasks]; a file name found in two folders is an error. Each "
        "task's data is the catalog entry benchmark_raw_<metadata.data> (docs/evaluation.md, 'Adding a benchmark')."
    )
    prompt_version: Literal["lm_eval_0_4", "paper_2023"] = Field(
        description="Which harness's prompts the task files render: lm_eval_0_4 (lm-eval 0.4.13's task YAMLs) or "
        "paper_2023 (the April-2023 v0.3 harness the paper ran: detokenised SST-2/MRPC, WSC273 and ReCoRD "
        "continuations with one space less, SciQ's stripped context, v0.3's RACE context); docs/evaluation.md."
    )


class GenerationParams(_Strict):
    """``Student.generate`` for every free-text answer (greedy)."""

    max_new_tokens: int = Field(ge=1, description="Longest answer, in tokens.")
    batch_size: int = Field(ge=1, description="Prompts per generate call.")
    max_input_length: int = Field(
        ge=8,
        description="Longest prompt in tokens (a causal model also keeps room for max_new_tokens); "
        "longer prompts lose their start (causal) or their end (seq2seq).",
    )


class UserOrientedParams(_Strict):
    """Self-Instruct's 252 user-oriented instructions: the paper's human-evaluation subset, rated A-D by the judge.

    The subset follows the published rule (EACL Appendix C): at most ``max_per_app`` instructions per
    ``motivation_app``, none of the excluded kinds, ``subset_size`` in all. Which 114 the paper used is
    not published: the selection here is seeded (``evaluation.seed``).
    """

    subset_size: int = Field(ge=1, description="Instructions in the subset (the paper: 114 of 252).")
    max_per_app: int = Field(ge=1, description="At most this many instructions per motivation_app (the paper: 2).")
    exclude: dict[str, list[str]] = Field(
        description="Kind of task → regular expressions (case-insensitive, searched in the instruction text, not "
        "its input): an instruction matching any is dropped (the paper drops NLI, sentiment and summarisation)."
    )
    limit: int | None = Field(ge=1, description="First N instructions of the subset; null = the whole subset.")

    @field_validator("exclude")
    @classmethod
    def _patterns_compile(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for kind, patterns in value.items():
            for pattern in patterns:
                try:
                    re.compile(pattern)
                except re.error as err:
                    raise ValueError(f"exclude.{kind}: {pattern!r} is not a regular expression ({err})") from None
        return value


class AlpacaEvalParams(_Strict):
    """AlpacaEval's 805 instructions: pairwise preference against text-davinci-003."""

    limit: int | None = Field(ge=1, description="First N instructions; null = all 805.")


class FalseQAParams(_Strict):
    """FalseQA (an extra set, not the paper's): false-premise questions and their true-premise twins."""

    limit: int | None = Field(ge=1, description="Questions per half (false / true premise); null = all.")


class LaminiHallucinationParams(_Strict):
    """LaMini-Hallucination (EACL Table 17): 40 questions, 4 categories x 10, answered by every member and judged."""

    per_category: int | None = Field(ge=1, description="First N questions of each category; null = all 10.")


class FidelityParams(_Strict):
    """ROUGE-L of the student's answers against the teacher's on the validation split."""

    limit: int | None = Field(ge=1, description="First N validation rows of lamini_dataset; null = all.")


class ToxicityParams(_Strict):
    """RealToxicityPrompts as the paper ran it (EACL §6): non-toxic and toxic prompts, a prefix, a classifier."""

    classifier: str | None = Field(
        description="openai_moderation (the OpenAI Moderation endpoint through the teacher door, params:teacher), "
        "a transformers text-classification model (hub id or path), or null = 'not scored'."
    )
    toxic_label: str = Field(
        description="What counts as toxic. openai_moderation: 'flagged' (the endpoint's own verdict) or a category "
        "(e.g. harassment: its score >= threshold); a transformers classifier: its label for toxic text."
    )
    threshold: float = Field(
        ge=0, le=1, description="A score at or above this counts as toxic (not used with toxic_label 'flagged')."
    )
    nontoxic_prompt_below: float = Field(
        ge=0, le=1, description="A prompt whose (Perspective) toxicity is below this is a non-toxic prompt."
    )
    toxic_prompt_above: float = Field(
        ge=0, le=1, description="A prompt whose (Perspective) toxicity is above this is a toxic prompt."
    )
    limit: int | None = Field(
        ge=1,
        description="Prompts drawn at random (seeded) per group (non-toxic / toxic) from those meeting the "
        "threshold; fewer when fewer meet it; null = all that do.",
    )
    seed: int = Field(description="Seed of the random draw of prompts.")
    prefix: str = Field(description="Put before each prompt, with one space (the paper: 'Complete the sentence:').")
    max_new_tokens: int = Field(ge=1, description="Length of each output, in tokens.")
    device: str = Field(description="Where a transformers classifier runs: cpu, cuda, ...")
    moderation_model: str = Field(description="The model asked at /v1/moderations (classifier openai_moderation).")
    moderation_batch_size: int = Field(ge=1, description="Texts per /v1/moderations request.")

    @field_validator("toxic_prompt_above")
    @classmethod
    def _groups_apart(cls, value: float, info: Any) -> float:
        below = info.data.get("nontoxic_prompt_below")
        if below is not None and value < below:
            raise ValueError(f"must not be below nontoxic_prompt_below={below} (the two groups would overlap)")
        return value


class JudgeCheckParams(_Strict):
    """The check every judge passes before its ratings are shown (pipelines/evaluation/judge_check.py)."""

    instructions: int = Field(
        ge=1, description="User-oriented instructions in the check; each gives one good and two bad items."
    )
    min_accuracy: float = Field(
        gt=0, le=1, description="Least share of check items rated right (good: A/B, bad: C/D) for the judge to pass."
    )


class JudgeParams(_Strict):
    """The LLM judge (through lamini_lm.teacher.complete)."""

    max_retries: int = Field(ge=0, description="An unparseable judgement is asked again this many times, then counted.")
    temperature: float = Field(ge=0, description="Temperature of the first attempt (retries use 0.7).")
    max_tokens: int = Field(ge=1, description="Longest judgement, in tokens.")
    teacher_overrides: dict[str, Any] = Field(
        description="Merged onto params:teacher for judging, e.g. {model: gpt-4o-mini, temperature: 0.0}."
    )
    check: JudgeCheckParams = Field(description="The check the judge must pass before its ratings are believed.")

    @field_validator("teacher_overrides")
    @classmethod
    def _teacher_keys(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(value) - set(TeacherSettings.model_fields))
        if unknown:
            raise ValueError(f"unknown teacher setting(s) {unknown}; the keys of params:teacher are allowed")
        return value


class TrackingParams(_Strict):
    """MLflow: one child run per student under kedro-mlflow's run."""

    enabled: bool = Field(description="Log the herd figures and one child run per student.")
    start_parent: bool = Field(description="Open a parent run when none is active (outside kedro-mlflow).")
    run_name: str = Field(description="Name of the parent run opened with start_parent.")


class ReportParams(_Strict):
    """The herd report (``params:evaluation.report``)."""

    min_docs: int = Field(
        ge=1,
        description="A benchmark cell scored on fewer documents than this is marked indicative (a dagger and a "
        "footnote).",
    )


class EvaluationParams(_Strict):
    """The whole ``evaluation:`` block."""

    seed: int = Field(description="Seeds lm-eval and the AlpacaEval presentation order.")
    benchmarks: BenchmarkParams = Field(description="The zero-shot NLP benchmarks (lm-eval).")
    generation: GenerationParams = Field(description="Student.generate for every free-text answer.")
    user_oriented: UserOrientedParams = Field(description="Self-Instruct's user-oriented instructions, rated A-D.")
    alpaca_eval: AlpacaEvalParams = Field(description="AlpacaEval win rate against text-davinci-003.")
    falseqa: FalseQAParams = Field(description="FalseQA hallucination and wrong-refusal rates (an extra set).")
    lamini_hallucination: LaminiHallucinationParams = Field(
        description="LaMini-Hallucination: the paper's 40 questions, hallucinations counted per category."
    )
    fidelity: FidelityParams = Field(description="ROUGE-L against the teacher's answers.")
    toxicity: ToxicityParams = Field(description="RealToxicityPrompts continuations and their toxicity.")
    judge: JudgeParams = Field(description="The LLM judge.")
    tracking: TrackingParams = Field(description="MLflow child runs per student.")
    report: ReportParams = Field(description="The herd report.")
