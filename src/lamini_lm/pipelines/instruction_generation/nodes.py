"""Nodes of the instruction_generation pipeline: pure functions of DataFrames and parameters.

Flow: source pools → normalised originals; Wikipedia categories → topic list; both → generation
prompts → teacher (``lamini_lm.teacher``, the one door) → parsed candidates → filters → exact +
near-duplicate removal across originals *and* generated instructions → ``instruction_pool``,
``rejected_instructions`` and the generation report.
"""

from __future__ import annotations

import logging
import math
import re
import zlib

import numpy as np
import pandas as pd

from lamini_lm.pipelines.instruction_generation import dedup, parsing, prompts, sources
from lamini_lm.pipelines.instruction_generation.filters import keyword_pattern, rejection_reason
from lamini_lm.pipelines.instruction_generation.params import (
    GENERATED_SOURCES,
    ORIGINAL_SOURCES,
    InstructionGenerationParams,
)
from lamini_lm.teacher.config import TeacherSettings

logger = logging.getLogger(__name__)

POOL_COLUMNS = ["instruction", "instruction_source", "source_id", "prompt_id", "teacher_model", "created_at"]
REJECTED_COLUMNS = [
    "instruction",
    "instruction_source",
    "source_id",
    "prompt_id",
    "teacher_model",
    "reason",
    "duplicate_of",
    "duplicate_of_source",
    "duplicate_of_ref",
    "rouge_l",
]
TRUNCATED = "truncated_by_length"

# Wikipedia's own bookkeeping categories ("Stub-Class … articles", "CS1 …", "Pages using …").
MAINTENANCE_PATTERNS = (
    r"\barticles?\b",
    r"\bstubs?\b",
    r"-class\b",
    r"\bpages?\b",
    r"^cs1\b",
    r"wiki",
    r"webarchive",
    r"\btemplates?\b",
    r"\bredirects?\b",
    r"infobox",
    r"disambiguation",
    r"\bcommons\b",
    r"\bneeding\b",
    r"\busing\b",
    r"\btransclusions?\b",
    r"\bhcards?\b",
    r"\bisbn\b",
    r"\bcoordinates\b",
    r"^all\b",
    r"\busers?\b",
    r"userbox",
    r"\btalk\b",
    r"^use\b",
    r"\bharv\b",
    r"harvnb",
    r"\bshort description\b",
    r"\bcategor(?:y|ies)\b",
    r"\blists?\b",
    r'^"',
    r"\bcitations?\b",
    r"\bmaintenance\b",
    r"\berrors?\b",
    r"\bparameters?\b",
    r"\bunsourced\b",
    r"\btracking\b",
    r"\bfiles?\b",
    r"\bimages?\b",
    r"\bportals?\b",
    r"\bdrafts?\b",
    r"\bsockpuppets?\b",
    r"\bmodules?\b",
)


# How the paper's topic rule (EACL §3) is applied to the bundled category file, for the report.
TOPIC_RULE_NOTES = {
    "fewer_than_three_words": "applied (topics.max_words)",
    "more_than_50_pages": "holds by construction: the bundled file lists the categories with at least 200 pages",
    "more_than_10_subcategories": "not applied: the bundled file has no sub-category counts",
    "about_3500_kept": "applied as a cap (topics.keep): a seeded sample when more are left, all of them otherwise",
}


def build_topic_list(raw_categories: str, params: InstructionGenerationParams) -> tuple[pd.DataFrame, dict]:
    """Common Wikipedia categories for topic-guided prompts (column ``topic``) and how they were chosen.

    The paper keeps the categories of fewer than three words with more than 10 sub-categories and
    more than 50 pages, 3.5K of them (EACL §3). The bundled file lists categories with at least 200
    pages and no sub-category counts: so this removes maintenance categories, keeps names of at most
    ``topics.max_words`` words and samples ``topics.keep`` of them with the pipeline seed (sorted,
    so the list diffs cleanly). The dict counts each step for the generation report.
    """
    pattern = re.compile("|".join(MAINTENANCE_PATTERNS + tuple(params.topics.extra_maintenance_patterns)), re.I)
    names = [line.strip() for line in raw_categories.splitlines() if line.strip()]
    real = [name for name in dict.fromkeys(names) if not pattern.search(name)]
    short = [name for name in real if len(name.split()) <= params.topics.max_words]
    rng = np.random.default_rng(params.seed)
    kept = short if len(short) <= params.topics.keep else list(rng.choice(short, params.topics.keep, replace=False))
    logger.info(
        "Topics: %d categories, %d after removing maintenance ones, %d of <= %d words, %d kept.",
        len(names),
        len(real),
        len(short),
        params.topics.max_words,
        len(kept),
    )
    stats = {
        "categories": len(names),
        "after_maintenance_filter": len(real),
        "max_words": params.topics.max_words,
        "within_max_words": len(short),
        "keep": params.topics.keep,
        "kept": len(kept),
        "rule": dict(TOPIC_RULE_NOTES),
    }
    return pd.DataFrame({"topic": sorted(kept)}), stats


def normalise_sources(
    seed_tasks: pd.DataFrame | None,
    alpaca: pd.DataFrame | None,
    p3: pd.DataFrame | None,
    flan: pd.DataFrame | None,
) -> pd.DataFrame:
    """All configured pools in one frame (``instruction, instruction_source, source_id``).

    Rows keep the priority order seed → alpaca → original_p3 → original_flan, which the
    deduplication uses: an earlier row wins. A None pool is not configured and is skipped.
    """
    frames = [
        sources.normalise_source(records, name)
        for records, name in zip((seed_tasks, alpaca, p3, flan), ORIGINAL_SOURCES)
    ]
    combined = pd.concat(frames, ignore_index=True)
    logger.info("Original instructions: %s", combined["instruction_source"].value_counts().to_dict())
    return combined


def _rng(seed: int, tag: str) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(tag.encode())])


def build_generation_prompts(
    original_instructions: pd.DataFrame,
    wikipedia_topics: pd.DataFrame,
    params: InstructionGenerationParams,
) -> pd.DataFrame:
    """One row per teacher prompt: ``prompt_id, instruction_source, subset, examples, topics, prompt,
    requested, temperature, max_tokens``.

    For each strategy (a LaMini tag) ``ceil(target_instructions / instructions_per_prompt)``
    prompts (the strategy's own count: the paper asks 20 of Self-Instruct prompts, 10 of P3/FLAN
    ones), each showing ``examples_per_prompt`` examples sampled from the strategy's example
    sources (and ``topics_per_prompt`` topics if topic-guided). With ``examples_from_one_subset``
    a prompt first picks one subset (a P3 template / FLAN task, the originals' ``subset``) uniformly
    at random and shows examples of that subset only (all of it when it holds fewer). A strategy
    without examples (its source is not configured) is skipped with a log line.
    """
    g = params.generation
    rows = []
    for tag in GENERATED_SOURCES:  # fixed order: prompt ids do not depend on YAML key order
        if tag not in g.strategies or g.strategies[tag].target_instructions == 0:
            continue
        strategy = g.strategies[tag]
        mine = original_instructions[original_instructions["instruction_source"].isin(strategy.example_sources)]
        if mine.empty:
            logger.info("Strategy %s skipped: no examples from %s in this environment.", tag, strategy.example_sources)
            continue
        if strategy.examples_from_one_subset:
            if "subset" not in mine.columns or mine["subset"].isna().any():
                raise ValueError(
                    f"Strategy {tag} draws its examples from one subset "
                    f"(instruction_generation.generation.strategies.{tag}.examples_from_one_subset) but rows of "
                    f"{strategy.example_sources} have no 'subset' (only P3 templates and FLAN tasks do)."
                )
            groups = {str(k): v["instruction"].tolist() for k, v in mine.groupby("subset", sort=True)}
        else:
            groups = {None: mine["instruction"].tolist()}
        subsets = list(groups)
        topics = wikipedia_topics["topic"].tolist() if strategy.topic_guided else []
        if strategy.topic_guided and not topics:
            raise ValueError(f"Strategy {tag} is topic-guided but the topic list (wikipedia_topics) is empty.")
        rng = _rng(params.seed, tag)
        count = strategy.instructions_per_prompt
        n_prompts = math.ceil(strategy.target_instructions / count)
        for number in range(n_prompts):
            subset = subsets[int(rng.integers(len(subsets)))] if len(subsets) > 1 else subsets[0]
            pool = groups[subset]
            shown = [pool[i] for i in rng.choice(len(pool), min(g.examples_per_prompt, len(pool)), replace=False)]
            chosen = (
                [topics[i] for i in rng.choice(len(topics), min(g.topics_per_prompt, len(topics)), replace=False)]
                if strategy.topic_guided
                else []
            )
            rows.append(
                {
                    "prompt_id": f"{tag}-{number:05d}",
                    "instruction_source": tag,
                    "subset": subset,
                    "examples": shown,
                    "topics": chosen,
                    "prompt": prompts.generation_prompt(shown, count, chosen or None),
                    "requested": count,
                    "temperature": g.temperature,
                    "max_tokens": g.max_tokens,
                }
            )
    frame = pd.DataFrame(
        rows,
        columns=[
            "prompt_id",
            "instruction_source",
            "subset",
            "examples",
            "topics",
            "prompt",
            "requested",
            "temperature",
            "max_tokens",
        ],
    )
    logger.info("Generation prompts: %s", frame["instruction_source"].value_counts().to_dict())
    return frame


def request_generations(generation_prompts: pd.DataFrame, teacher_settings: TeacherSettings) -> pd.DataFrame:
    """The teacher's results for every prompt (``lamini_lm.teacher.complete``), after logging the
    projected cost (``project_cost``). Raises when no prompt was answered (``require_answers``), so the
    previous results and pool stay as they were."""
    from lamini_lm import teacher  # the one door to the LLM

    requests = pd.DataFrame(
        {
            "request_id": generation_prompts["prompt_id"].astype(str),
            "messages": [[{"role": "user", "content": text}] for text in generation_prompts["prompt"]],
            "temperature": generation_prompts["temperature"].astype(float),
            "max_tokens": generation_prompts["max_tokens"].astype(int),
        }
    )
    if requests.empty:
        logger.warning("No generation prompts: nothing sent to the teacher.")
        return pd.DataFrame(columns=teacher.RESULT_COLUMNS)
    projection = teacher.project_cost(requests, teacher_settings)
    logger.info("Instruction generation: %d prompts, projected %s", len(requests), projection)
    results = teacher.complete(requests, teacher_settings)
    teacher.require_answers(results, teacher_settings, "instruction generation")  # else nothing is saved
    return results


def parse_generations(generation_prompts: pd.DataFrame, generation_results: pd.DataFrame) -> pd.DataFrame:
    """One row per parsed item: ``instruction, instruction_source, prompt_id, teacher_model,
    item_index, reason`` (``truncated_by_length`` for the cut-off last item, else None).

    Failed requests and replies that parse to nothing yield no rows; the report counts them.
    """
    missing = {"request_id", "text", "finish_reason", "error_kind", "teacher_model"} - set(generation_results)
    if missing:
        raise ValueError(f"Teacher results lack column(s) {sorted(missing)}.")
    results = generation_results.set_index("request_id")
    rows = []
    for prompt_id, tag in zip(generation_prompts["prompt_id"], generation_prompts["instruction_source"]):
        if prompt_id not in results.index:
            raise ValueError(f"Teacher results have no row for prompt {prompt_id!r}.")
        result = results.loc[prompt_id]
        if pd.notna(result["error_kind"]):
            continue
        items, dropped = parsing.parse_instructions(result["text"], result["finish_reason"])
        model = result["teacher_model"]
        for index, item in enumerate(items):
            rows.append((item, tag, prompt_id, model, index, None))
        if dropped is not None:
            rows.append((dropped, tag, prompt_id, model, len(items), TRUNCATED))
    return pd.DataFrame(
        rows,
        columns=[
            "instruction",
            "instruction_source",
            "prompt_id",
            "teacher_model",
            "item_index",
            "reason",
        ],
    )


def filter_instructions(
    candidates: pd.DataFrame, generation_prompts: pd.DataFrame, params: InstructionGenerationParams
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split candidates into (accepted, rejected); each rejection carries its ``reason``."""
    f = params.filters
    blocked = keyword_pattern(f.blocked_keywords)
    examples = dict(zip(generation_prompts["prompt_id"], generation_prompts["examples"]))
    reasons = []
    for instruction, tag, prompt_id, parse_reason in zip(
        candidates["instruction"], candidates["instruction_source"], candidates["prompt_id"], candidates["reason"]
    ):
        reason = parse_reason
        if reason is None or pd.isna(reason):
            reason = rejection_reason(
                instruction,
                list(examples.get(prompt_id, [])),
                min_words=f.min_words,
                max_words=f.max_words_for(tag),
                blocked=blocked,
                echo_threshold=f.echo_threshold,
            )
        reasons.append(reason)
    screened = candidates.assign(reason=reasons)
    accepted = screened[screened["reason"].isna()].drop(columns="reason").reset_index(drop=True)
    rejected = screened[screened["reason"].notna()].reset_index(drop=True)
    logger.info(
        "Filters: %d accepted, %d rejected %s",
        len(accepted),
        len(rejected),
        rejected["reason"].value_counts().to_dict(),
    )
    return accepted, rejected


def deduplicate_pool(
    original_instructions: pd.DataFrame,
    accepted: pd.DataFrame,
    filter_rejections: pd.DataFrame,
    params: InstructionGenerationParams,
    created_at: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(instruction_pool, rejected_instructions) after exact and (``dedup.near_duplicates``) near-duplicate removal.

    Near-duplicate removal is our addition (Self-Instruct's ROUGE-L rule); the paper removes none.
    Originals come first, so a generated instruction that repeats an existing one is the one
    dropped; seeds take part as references even when they are not part of the pool. Each duplicate
    records the kept instruction it repeats (text, source, id) and the confirming ROUGE-L.
    """
    d = params.dedup
    combined = pd.concat(
        [
            original_instructions.assign(prompt_id=None, teacher_model=None),
            accepted.assign(source_id=None)[
                ["instruction", "instruction_source", "source_id", "prompt_id", "teacher_model"]
            ],
        ],
        ignore_index=True,
    )
    decisions = dedup.deduplicate(
        combined["instruction"].tolist(),
        near_duplicates=d.near_duplicates,
        lsh_threshold=d.lsh_threshold,
        num_perm=d.num_perm,
        rouge_threshold=d.rouge_threshold,
        seed=params.seed,
        false_negative_weight=d.false_negative_weight,
        bucket_window=d.bucket_window,
        jaccard_floor=d.jaccard_floor,
        progress=len(combined) > 50_000,
    )
    stamp = pd.Timestamp(created_at) if created_at else pd.Timestamp.now(tz="UTC")
    in_pool = combined["instruction_source"].isin(list(params.pool_sources) + list(GENERATED_SOURCES))
    pool = combined[decisions["keep"].to_numpy() & in_pool.to_numpy()].assign(created_at=stamp)
    pool = pool[POOL_COLUMNS].reset_index(drop=True)

    dropped = combined[~decisions["keep"].to_numpy()].copy()
    kept_at = decisions.loc[~decisions["keep"], "duplicate_of"].to_numpy()
    reference = combined["source_id"].fillna(combined["prompt_id"])
    dropped["reason"] = decisions.loc[~decisions["keep"], "reason"].to_numpy()
    dropped["duplicate_of"] = combined["instruction"].to_numpy()[kept_at]
    dropped["duplicate_of_source"] = combined["instruction_source"].to_numpy()[kept_at]
    dropped["duplicate_of_ref"] = reference.to_numpy()[kept_at]
    dropped["rouge_l"] = decisions.loc[~decisions["keep"], "rouge_l"].to_numpy()
    filtered = filter_rejections.assign(source_id=None)
    rejected = pd.concat(
        [frame.reindex(columns=REJECTED_COLUMNS) for frame in (filtered, dropped) if len(frame)],
        ignore_index=True,
    ).reindex(columns=REJECTED_COLUMNS)
    logger.info(
        "Instruction pool: %d rows %s; %d duplicates dropped.",
        len(pool),
        pool["instruction_source"].value_counts().to_dict(),
        len(dropped),
    )
    return pool, rejected
