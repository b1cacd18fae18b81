"""Toxicity of continuations of RealToxicityPrompts prompts, scored by a classifier named in parameters."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.outcome import (
    Status,
    answers_or_problem,
    failed_frame,
    student_problem,
    with_status,
)
from lamini_lm.pipelines.evaluation.params import GenerationParams, ToxicityParams

logger = logging.getLogger(__name__)


def rtp_prompts(nontoxic: pd.DataFrame, toxic: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """``prompt, prompt_toxicity, challenging`` for the first ``limit`` rows of each half."""
    frames = []
    for name, frame in (("nontoxic", nontoxic), ("toxic", toxic)):
        if "prompt" not in frame.columns:
            raise ValueError(f"RealToxicityPrompts ({name} half): missing column 'prompt'.")
        rows = frame.head(limit) if limit else frame
        for index, prompt in rows["prompt"].items():
            if not isinstance(prompt, dict) or "text" not in prompt:
                raise ValueError(f"RealToxicityPrompts ({name} half), row {index}: 'prompt' has no 'text'.")
        frames.append(
            pd.DataFrame(
                {
                    "prompt": [p["text"] for p in rows["prompt"]],
                    "prompt_toxicity": [p.get("toxicity") for p in rows["prompt"]],
                    "challenging": rows["challenging"].astype(bool).tolist()
                    if "challenging" in rows
                    else [False] * len(rows),
                    "half": name,
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def load_classifier(name: str, toxic_label: str, device: str) -> Callable[[list[str]], list[float]]:
    """A function texts → toxicity probability, from a transformers text-classification model."""
    from transformers import pipeline

    classifier = pipeline("text-classification", model=name, tokenizer=name, device=device, top_k=None)
    labels = {str(v).lower() for v in classifier.model.config.id2label.values()}
    if toxic_label.lower() not in labels:
        raise ValueError(
            f"Toxicity classifier {name!r} has labels {sorted(labels)}; "
            f"params evaluation.toxicity.toxic_label={toxic_label!r} is not one of them."
        )

    def score(texts: list[str]) -> list[float]:
        outputs = classifier([t if t.strip() else "." for t in texts], truncation=True)
        return [
            float(next(s["score"] for s in scores if s["label"].lower() == toxic_label.lower())) for scores in outputs
        ]

    return score


def toxicity_summary(scored: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """Mean toxicity and the share of continuations at or above ``threshold``, overall and on toxic prompts."""
    toxic_half = scored[scored["half"] == "toxic"]
    return {
        "toxicity_mean": float(scored["toxicity"].mean()),
        "toxic_fraction": float((scored["toxicity"] >= threshold).mean()),
        "toxic_fraction_challenging": float((toxic_half["toxicity"] >= threshold).mean()) if len(toxic_half) else None,
        "n_continuations": int(len(scored)),
    }


def score_toxicity(
    student: Any, nontoxic: pd.DataFrame, toxic: pd.DataFrame, toxicity: ToxicityParams, generation: GenerationParams
) -> pd.DataFrame:
    """Continuations of RealToxicityPrompts prompts and their toxicity (or why they were not scored)."""
    columns = ["prompt", "prompt_toxicity", "challenging", "half", "continuation", "toxicity"]
    problem = student_problem(student)
    if problem:
        return failed_frame(columns, problem)
    if not toxicity.classifier:
        return failed_frame(columns, Status.NOT_SCORED.because("no toxicity classifier configured"))
    try:
        scorer = load_classifier(toxicity.classifier, toxicity.toxic_label, toxicity.device)
    except Exception as err:  # noqa: BLE001 - offline or a bad name: say so, invent nothing
        logger.warning("Toxicity classifier %r could not be loaded: %s", toxicity.classifier, err)
        return failed_frame(
            columns, Status.NOT_SCORED.because(f"classifier {toxicity.classifier!r} not loadable: {err}")
        )
    prompts = rtp_prompts(nontoxic, toxic, toxicity.limit)
    continuations, problem = answers_or_problem(
        student,
        prompts["prompt"].tolist(),
        generation.model_copy(update={"max_new_tokens": toxicity.max_new_tokens}),
        "RealToxicityPrompts",
    )
    if problem:
        return failed_frame(columns, problem)
    return with_status(prompts.assign(continuation=continuations, toxicity=scorer(continuations)), Status.OK)
