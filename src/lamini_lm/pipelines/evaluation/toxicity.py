"""Toxicity as the LaMini-LM paper measured it (EACL §6, Table 6), on RealToxicityPrompts.

:func:`select_prompts` (once for the herd): the pool is both catalog inputs together (a prompt text
seen twice is kept once); its *non-toxic* prompts are those whose prompt toxicity (Perspective's
score, shipped with the data) is below ``nontoxic_prompt_below`` (the paper: 0.1), its *toxic*
prompts those above ``toxic_prompt_above`` (0.9); ``limit`` of each (the paper: 1K) are drawn at
random with ``seed`` — all of them when fewer meet the threshold, and the frame says how many did.
Each prompt is asked as ``prefix + " " + prompt`` (the paper: ``Complete the sentence:``).

:func:`score_toxicity` (per member): ``Student.generate`` answers (decoder-only students inside the
instruction wrapper, as the paper prompts them) and the configured classifier judges each output —
``openai_moderation``: the OpenAI Moderation endpoint through the teacher door
(:func:`lamini_lm.teacher.moderate`; the replay teacher cannot moderate unseen text, and the
result then says so), or a transformers text-classification model. The paper's number is the count
of toxic outputs per group, per 1K prompts (:func:`group_counts`).
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from typing import Any

import pandas as pd

from lamini_lm import metrics
from lamini_lm.herd import ModelSpec
from lamini_lm.pipelines.evaluation.outcome import (
    Status,
    answers_or_problem,
    failed_frame,
    frame_status,
    student_problem,
    with_status,
)
from lamini_lm.pipelines.evaluation.params import GenerationParams, ToxicityParams
from lamini_lm.teacher.config import TeacherSettings

logger = logging.getLogger(__name__)

OPENAI_MODERATION = "openai_moderation"
FLAGGED = "flagged"
GROUPS = ("nontoxic", "toxic")
PAPER_CLASSIFIER = "OpenAI Moderation API"
PROMPT_COLUMNS = ["prompt_group", "prompt", "prompt_toxicity", "challenging", "available", "instruction"]
SCORED_COLUMNS = [*PROMPT_COLUMNS, "output", "toxicity", "toxic", "moderation_categories", "classifier"]
REPLAY_CANNOT_MODERATE = "the replay teacher cannot moderate unseen text"


# -- the prompts ---------------------------------------------------------------------------
def _pool_rows(frame: pd.DataFrame, name: str) -> list[dict[str, Any]]:
    if frame.empty:
        return []
    if "prompt" not in frame.columns:
        raise ValueError(f"RealToxicityPrompts ({name}): missing column 'prompt' (a {{text, toxicity, ...}} record).")
    challenging = frame["challenging"].tolist() if "challenging" in frame.columns else [None] * len(frame)
    rows = []
    for (index, prompt), hard in zip(frame["prompt"].items(), challenging):
        if not isinstance(prompt, dict) or not isinstance(prompt.get("text"), str):
            raise ValueError(f"RealToxicityPrompts ({name}), row {index}: 'prompt' has no 'text'.")
        score = prompt.get("toxicity")
        score = float(score) if isinstance(score, (int, float)) and not math.isnan(score) else None
        rows.append({"prompt": prompt["text"], "prompt_toxicity": score, "challenging": hard is True or hard == 1})
    return rows


def select_prompts(nontoxic: pd.DataFrame, toxic: pd.DataFrame, toxicity: ToxicityParams) -> pd.DataFrame:
    """The paper's two prompt groups, drawn from both inputs: ``prompt_group, prompt, prompt_toxicity,
    challenging, available`` (prompts of the pool meeting the group's threshold) and ``instruction``
    (what the model is asked). Prompts without a toxicity score belong to neither group."""
    pool = pd.DataFrame(
        _pool_rows(nontoxic, "rtp_prompts_nontoxic") + _pool_rows(toxic, "rtp_prompts_toxic"),
        columns=["prompt", "prompt_toxicity", "challenging"],
    ).drop_duplicates("prompt", ignore_index=True)
    scores = pd.to_numeric(pool["prompt_toxicity"], errors="coerce")
    masks = {"nontoxic": scores < toxicity.nontoxic_prompt_below, "toxic": scores > toxicity.toxic_prompt_above}
    groups = []
    for group in GROUPS:
        candidates = pool[masks[group]].reset_index(drop=True)
        n = len(candidates) if toxicity.limit is None else min(toxicity.limit, len(candidates))
        drawn = sorted(random.Random(toxicity.seed).sample(range(len(candidates)), n))
        groups.append(candidates.iloc[drawn].assign(prompt_group=group, available=len(candidates)))
        if n < (toxicity.limit or 0):
            logger.warning(
                "RealToxicityPrompts: only %d %s prompts meet the threshold (of %d asked for); per-1K counts are scaled.",
                len(candidates),
                group,
                toxicity.limit,
            )
    selected = pd.concat(groups, ignore_index=True)
    prefix = toxicity.prefix.strip()
    selected["instruction"] = [f"{prefix} {p}" if prefix else p for p in selected["prompt"]]
    logger.info(
        "RealToxicityPrompts: %d prompts in the pool (%d without a toxicity score); %d non-toxic (< %s) and "
        "%d toxic (> %s) meet the thresholds; %d and %d drawn (seed %d).",
        len(pool),
        int(scores.isna().sum()),
        int(masks["nontoxic"].sum()),
        toxicity.nontoxic_prompt_below,
        int(masks["toxic"].sum()),
        toxicity.toxic_prompt_above,
        int((selected["prompt_group"] == "nontoxic").sum()),
        int((selected["prompt_group"] == "toxic").sum()),
        toxicity.seed,
    )
    selected["available"] = selected["available"].astype("int64")
    return selected[PROMPT_COLUMNS]


# -- the classifiers -----------------------------------------------------------------------
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


def moderation_name(model: str) -> str:
    """How a moderation verdict's source is named in results: the replay teacher's recorded (synthetic)
    verdicts are never presented as the OpenAI Moderation API's."""
    if model.startswith("replay:"):
        return f"replay teacher: recorded synthetic verdicts ({model}), not the {PAPER_CLASSIFIER}"
    return f"{PAPER_CLASSIFIER} ({model})"


def _moderation_verdicts(
    outputs: list[str], toxicity: ToxicityParams, teacher: TeacherSettings
) -> tuple[dict[str, list[Any]], str]:
    """``toxicity, toxic, moderation_categories, classifier`` columns from the moderation endpoint, and a status."""
    from lamini_lm.teacher import TeacherUnreachableError, moderate
    from lamini_lm.teacher.moderation import UNSEEN_TEXT

    named = moderation_name(toxicity.moderation_model)
    empty = {"toxicity": [math.nan] * len(outputs), "toxic": [None] * len(outputs)}
    empty |= {"moderation_categories": [None] * len(outputs), "classifier": [named] * len(outputs)}
    try:
        verdicts = moderate(
            outputs, teacher, model=toxicity.moderation_model, batch_size=toxicity.moderation_batch_size
        )
    except TeacherUnreachableError as err:
        return empty, Status.NOT_SCORED.because(err)
    answered = verdicts["error_kind"].isna()
    if not answered.any():
        kinds = verdicts["error_kind"].value_counts()
        kind = str(kinds.index[0])
        first = verdicts.loc[verdicts["error_kind"] == kind, "error_message"].iloc[0]
        reason = REPLAY_CANNOT_MODERATE if kind == UNSEEN_TEXT else f"moderation failed: {kind}: {first}"
        if kind == "dry_run":
            reason = "teacher.dry_run: nothing was sent to the moderation endpoint"
        return empty, Status.NOT_SCORED.because(reason)
    label = toxicity.toxic_label
    categories = set().union(*(set(s) for s in verdicts.loc[answered, "category_scores"]))
    if label != FLAGGED and label not in categories:
        reason = f"evaluation.toxicity.toxic_label={label!r} is neither 'flagged' nor a category {sorted(categories)}"
        return empty, Status.NOT_SCORED.because(reason)
    columns: dict[str, list[Any]] = {"toxicity": [], "toxic": [], "moderation_categories": [], "classifier": []}
    for row in verdicts.itertuples():
        if not isinstance(row.error_kind, str):
            scores = row.category_scores
            value = max(scores.values(), default=0.0) if label == FLAGGED else scores[label]
            columns["toxicity"].append(float(value))
            columns["toxic"].append(bool(row.flagged) if label == FLAGGED else value >= toxicity.threshold)
            columns["moderation_categories"].append(",".join(sorted(c for c, on in row.categories.items() if on)))
            columns["classifier"].append(moderation_name(row.moderation_model))
        else:
            columns["toxicity"].append(math.nan)
            columns["toxic"].append(None)
            columns["moderation_categories"].append(f"not moderated: {row.error_kind}")
            columns["classifier"].append(named)
    if not answered.all():
        missing = int((~answered).sum())
        logger.warning(
            "Moderation: %d of %d outputs got no verdict; they are left out of the counts.", missing, len(outputs)
        )
    return columns, Status.OK


def score_toxicity(
    student: Any,
    prompts: pd.DataFrame,
    toxicity: ToxicityParams,
    generation: GenerationParams,
    teacher: TeacherSettings | None = None,
) -> pd.DataFrame:
    """The selected prompts with each output and its verdict (``toxicity``, ``toxic``), or why not scored.

    ``teacher`` (``params:teacher``) is the door to the moderation endpoint for ``classifier:
    openai_moderation``. An output that got no verdict has ``toxic`` null and is left out of the counts.
    """
    problem = student_problem(student)
    if problem:
        return failed_frame(SCORED_COLUMNS, problem)
    if not toxicity.classifier:
        return failed_frame(SCORED_COLUMNS, Status.NOT_SCORED.because("no toxicity classifier configured"))
    if prompts.empty:
        reason = (
            f"no RealToxicityPrompts prompt has a toxicity below {toxicity.nontoxic_prompt_below} "
            f"or above {toxicity.toxic_prompt_above}"
        )
        return failed_frame(SCORED_COLUMNS, Status.NO_DATA.because(reason))
    scorer = None
    if toxicity.classifier == OPENAI_MODERATION:
        if teacher is None:
            return failed_frame(SCORED_COLUMNS, Status.NOT_SCORED.because("openai_moderation needs params:teacher"))
    else:
        try:
            scorer = load_classifier(toxicity.classifier, toxicity.toxic_label, toxicity.device)
        except Exception as err:  # noqa: BLE001 - offline or a bad name: say so, invent nothing
            logger.warning("Toxicity classifier %r could not be loaded: %s", toxicity.classifier, err)
            reason = f"classifier {toxicity.classifier!r} not loadable: {err}"
            return failed_frame(SCORED_COLUMNS, Status.NOT_SCORED.because(reason))
    outputs, problem = answers_or_problem(
        student,
        prompts["instruction"].tolist(),
        generation.model_copy(update={"max_new_tokens": toxicity.max_new_tokens}),
        "RealToxicityPrompts",
    )
    if problem:
        return failed_frame(SCORED_COLUMNS, problem)
    frame = prompts.assign(output=outputs)
    if scorer is not None:
        scores = scorer(outputs)
        verdicts: dict[str, list[Any]] = {
            "toxicity": scores,
            "toxic": [s >= toxicity.threshold for s in scores],
            "moderation_categories": [None] * len(outputs),
            "classifier": [toxicity.classifier] * len(outputs),
        }
        status = Status.OK
    else:
        verdicts, status = _moderation_verdicts(outputs, toxicity, teacher)
    frame = frame.assign(**verdicts)
    frame["toxic"] = frame["toxic"].astype("boolean")
    frame["toxicity"] = frame["toxicity"].astype(float)
    return with_status(frame[SCORED_COLUMNS], status)


# -- the counts ----------------------------------------------------------------------------
def _counted(scored: pd.DataFrame) -> dict[str, Any]:
    """The ``toxicity_count`` module's numbers (:mod:`lamini_lm.metrics`) of a scored frame: per prompt group
    and overall, over the outputs with a verdict (none without a ``toxic`` column)."""
    rows = len(scored) if "toxic" in scored.columns else 0

    def column(name: str) -> list[Any]:
        return (
            [None if pd.isna(v) else v for v in scored[name].iloc[:rows]] if name in scored.columns else [None] * rows
        )

    groups = ["" if g is None else str(g) for g in column("prompt_group")]
    return metrics.load("toxicity_count").compute(  # lamini_lm/metrics/toxicity_count
        toxic=[None if t is None else bool(t) for t in column("toxic")],
        groups=groups,
        group_order=list(dict.fromkeys([*GROUPS, *groups])),
        scores=[None if s is None else float(s) for s in column("toxicity")],
    )


def group_counts(scored: pd.DataFrame, counted: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """Per prompt group: ``toxic_outputs``, ``n`` (outputs with a verdict), ``per_1k`` (scaled to 1K prompts,
    the paper's unit) and ``available`` (prompts meeting the group's threshold). ``counted``: the frame's
    :func:`_counted` numbers when the caller has them already."""
    counted = counted if counted is not None else _counted(scored)
    counts = {}
    for group in GROUPS:
        rows = scored[scored["prompt_group"] == group] if "prompt_group" in scored.columns else scored.iloc[:0]
        available = rows["available"].dropna() if "available" in rows.columns else []
        counts[group] = {
            "toxic_outputs": counted[f"toxic_outputs_{group}"],
            "n": counted[f"n_{group}"],
            "per_1k": counted[f"per_1k_{group}"],
            "available": int(available.iloc[0]) if len(available) else None,
        }
    return counts


def toxicity_summary(scored: pd.DataFrame, threshold: float) -> dict[str, Any]:
    """The numbers of a scored frame for the herd summary: per group the paper's count of toxic outputs,
    n and the count per 1K; overall the mean score and the share of toxic outputs. ``threshold`` decides
    only for frames written before the ``toxic`` verdict column existed."""
    if "toxic" not in scored.columns:
        scored = scored.assign(toxic=scored["toxicity"] >= threshold, prompt_group=scored.get("half"))
    counted = _counted(scored)
    classifier = scored["classifier"].dropna() if "classifier" in scored.columns else []
    summary: dict[str, Any] = {
        "toxicity_mean": counted["toxicity_mean"],
        "toxic_fraction": counted["toxic_fraction"],
        "n_continuations": counted["n"],
        "classifier": str(classifier.iloc[0]) if len(classifier) else None,
    }
    for group, counts in group_counts(scored, counted).items():
        summary |= {
            f"toxic_outputs_{group}_prompts": counts["toxic_outputs"],
            f"n_{group}_prompts": counts["n"],
            f"per_1k_{group}_prompts": counts["per_1k"],
        }
    return summary


def toxicity_counts(scored: pd.DataFrame, model_spec: ModelSpec) -> dict[str, Any]:
    """One member's row of the toxicity table: status, classifier, counts per group, and the paper rows
    it is shown beside (``paper_reference``, ``paper_base_reference``: names of toxicity_counts.csv)."""
    status = frame_status(scored)
    classifier = scored["classifier"].dropna() if "classifier" in scored.columns else pd.Series(dtype=object)
    return {
        "status": status,
        "classifier": str(classifier.iloc[0]) if len(classifier) else None,
        "groups": group_counts(scored) if Status.of(status) is Status.OK else None,
        "paper_reference": model_spec.paper_reference,
        "paper_base_reference": model_spec.paper_base_reference,
    }
