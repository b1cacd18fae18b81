"""The generation report: what each source contributed, what was rejected and why, what it cost."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no backend chosen, no global figure registry

from lamini_lm.pipelines.instruction_generation.params import (
    GENERATED_SOURCES,
    ORIGINAL_SOURCES,
    InstructionGenerationParams,
)

NEAR_DUPLICATE_NOTE = (
    "near-duplicate removal (ROUGE-L > {threshold} with a kept instruction, Self-Instruct's rule) is our "
    "addition: the paper removes none"
)


def _count(frame: pd.DataFrame, column: str = "instruction_source") -> dict[str, int]:
    return {str(k): int(v) for k, v in frame[column].value_counts().items()} if len(frame) else {}


def build_generation_report(
    original_instructions: pd.DataFrame,
    generation_prompts: pd.DataFrame,
    generation_results: pd.DataFrame,
    candidates: pd.DataFrame,
    instruction_pool: pd.DataFrame,
    rejected_instructions: pd.DataFrame,
    topic_stats: dict,
    params: InstructionGenerationParams,
) -> tuple[dict, str, Figure]:
    """(report as a dict for JSON, the same as Markdown, a bar chart of the pool's source mix).

    ``recipe`` says how the run follows the paper: per strategy its example sources, instructions
    per prompt and whether a prompt's examples share one subset; the topic rule as far as the
    bundled category file allows (``topic_stats`` from the topic node); and whether near-duplicate
    removal — our addition — was on.

    Per generated source: prompts, failed requests, replies that parsed to nothing, items parsed,
    rejections by reason, duplicates, accepted, acceptance rate (accepted / parsed) and duplicate
    rate (duplicates / items that passed the filters), tokens and cost. Per original source:
    rows loaded, duplicates, rows in the pool.
    """
    results = (
        generation_results.merge(
            generation_prompts[["prompt_id", "instruction_source"]],
            left_on="request_id",
            right_on="prompt_id",
            how="left",
        )
        if len(generation_results)
        else pd.DataFrame(columns=["instruction_source", "error_kind"])
    )
    parsed_per_prompt = candidates.groupby("prompt_id").size() if len(candidates) else pd.Series(dtype=int)
    duplicates = rejected_instructions[rejected_instructions["reason"].isin(["exact_duplicate", "near_duplicate"])]
    filtered = rejected_instructions[~rejected_instructions.index.isin(duplicates.index)]
    pool_counts = _count(instruction_pool)

    generated: dict[str, dict] = {}
    for tag in GENERATED_SOURCES:
        mine = results[results["instruction_source"] == tag]
        if mine.empty:
            continue
        ok = mine[mine["error_kind"].isna()]
        empty_replies = int(sum(parsed_per_prompt.get(pid, 0) == 0 for pid in ok["request_id"]))
        parsed = int((candidates["instruction_source"] == tag).sum()) if len(candidates) else 0
        my_filtered = filtered[filtered["instruction_source"] == tag]
        my_dups = int((duplicates["instruction_source"] == tag).sum())
        accepted = pool_counts.get(tag, 0)
        passed_filters = parsed - len(my_filtered)
        generated[tag] = {
            "prompts": int(len(mine)),
            "failed_requests": int(len(mine) - len(ok)),
            "errors": _count(mine[mine["error_kind"].notna()], "error_kind"),
            "replies_parsed_to_nothing": empty_replies,
            "items_parsed": parsed,
            "rejected_by_reason": _count(my_filtered, "reason"),
            "duplicates": my_dups,
            "accepted": accepted,
            "acceptance_rate": round(accepted / parsed, 4) if parsed else 0.0,
            "duplicate_rate": round(my_dups / passed_filters, 4) if passed_filters else 0.0,
            "prompt_tokens": int(mine["prompt_tokens"].fillna(0).sum()),
            "completion_tokens": int(mine["completion_tokens"].fillna(0).sum()),
            "cost_usd": round(float(mine["cost_usd"].fillna(0).sum()), 6),
            "teacher_models": sorted({str(m) for m in ok["teacher_model"].dropna()}),
        }
    loaded = _count(original_instructions)
    originals = {
        source: {
            "loaded": loaded.get(source, 0),
            "duplicates": int((duplicates["instruction_source"] == source).sum()),
            "in_pool": pool_counts.get(source, 0),
        }
        for source in ORIGINAL_SOURCES
    }
    g = params.generation
    recipe = {
        "strategies": {
            tag: {
                "example_sources": list(g.strategies[tag].example_sources),
                "instructions_per_prompt": g.strategies[tag].instructions_per_prompt,
                "examples_from_one_subset": g.strategies[tag].examples_from_one_subset,
                "topic_guided": g.strategies[tag].topic_guided,
            }
            for tag in GENERATED_SOURCES
            if tag in g.strategies
        },
        "examples_per_prompt": g.examples_per_prompt,
        "topics": topic_stats,
        "near_duplicate_removal": {
            "enabled": params.dedup.near_duplicates,
            "note": NEAR_DUPLICATE_NOTE.format(threshold=params.dedup.rouge_threshold),
        },
    }
    report = {
        "recipe": recipe,
        "pool_size": int(len(instruction_pool)),
        "pool_by_source": pool_counts,
        "sources_not_configured_or_empty": [s for s in ORIGINAL_SOURCES if not loaded.get(s)],
        "original_sources": originals,
        "generated_sources": generated,
        "rejections_by_reason": _count(rejected_instructions, "reason"),
        "totals": {
            "prompts": int(sum(g["prompts"] for g in generated.values())),
            "failed_requests": int(sum(g["failed_requests"] for g in generated.values())),
            "prompt_tokens": int(sum(g["prompt_tokens"] for g in generated.values())),
            "completion_tokens": int(sum(g["completion_tokens"] for g in generated.values())),
            "cost_usd": round(sum(g["cost_usd"] for g in generated.values()), 6),
        },
    }
    return report, to_markdown(report), source_mix_chart(pool_counts)


def to_markdown(report: dict) -> str:
    """The report as Markdown tables."""
    lines = [
        "# Instruction generation report",
        "",
        f"Pool size: **{report['pool_size']:,}**. Sources not configured or empty: "
        f"{', '.join(report['sources_not_configured_or_empty']) or 'none'}.",
        "",
        "## Generated sources",
        "",
        "| source | prompts | failed | empty replies | parsed | rejected | duplicates | accepted "
        "| acceptance | duplicate rate | prompt tok | completion tok | cost USD |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for tag, g in report["generated_sources"].items():
        lines.append(
            f"| {tag} | {g['prompts']} | {g['failed_requests']} | {g['replies_parsed_to_nothing']} "
            f"| {g['items_parsed']} | {sum(g['rejected_by_reason'].values())} | {g['duplicates']} "
            f"| {g['accepted']} | {g['acceptance_rate']:.1%} | {g['duplicate_rate']:.1%} "
            f"| {g['prompt_tokens']:,} | {g['completion_tokens']:,} | {g['cost_usd']:.4f} |"
        )
    lines += _recipe_markdown(report["recipe"])
    lines += ["", "## Original sources", "", "| source | loaded | duplicates | in pool |", "|---|---:|---:|---:|"]
    for source, o in report["original_sources"].items():
        lines.append(f"| {source} | {o['loaded']:,} | {o['duplicates']:,} | {o['in_pool']:,} |")
    lines += ["", "## Rejections by reason", "", "| reason | count |", "|---|---:|"]
    for reason, count in report["rejections_by_reason"].items():
        lines.append(f"| {reason} | {count:,} |")
    totals = report["totals"]
    lines += [
        "",
        f"Teacher: {totals['prompts']} prompts, {totals['failed_requests']} failed, "
        f"{totals['prompt_tokens']:,} prompt + {totals['completion_tokens']:,} completion tokens, "
        f"${totals['cost_usd']:.4f}.",
        "",
    ]
    return "\n".join(lines)


def _recipe_markdown(recipe: dict) -> list[str]:
    """The "Recipe" section: strategies, the topic rule as applied, near-duplicate removal."""
    lines = [
        "",
        "## Recipe",
        "",
        f"Examples per prompt: {recipe['examples_per_prompt']}.",
        "",
        "| strategy | example sources | instructions per prompt | examples from one subset | topic-guided |",
        "|---|---|---:|---|---|",
    ]
    for tag, strategy in recipe["strategies"].items():
        lines.append(
            f"| {tag} | {', '.join(strategy['example_sources'])} | {strategy['instructions_per_prompt']} "
            f"| {'yes' if strategy['examples_from_one_subset'] else 'no'} "
            f"| {'yes' if strategy['topic_guided'] else 'no'} |"
        )
    topics = recipe["topics"]
    lines += [
        "",
        f"Topics (the paper's rule: fewer than three words, more than 10 sub-categories, more than 50 pages, "
        f"~3.5K kept): {topics['categories']:,} categories in the bundled file → {topics['after_maintenance_filter']:,} "
        f"after removing maintenance categories → {topics['within_max_words']:,} of at most {topics['max_words']} "
        f"words → {topics['kept']:,} kept.",
        "",
    ]
    lines += [f"- {rule.replace('_', ' ')}: {how}" for rule, how in topics["rule"].items()]
    near = recipe["near_duplicate_removal"]
    lines += ["", f"De-duplication: exact duplicates dropped; {near['note']} — {'on' if near['enabled'] else 'off'}."]
    return lines


def source_mix_chart(pool_counts: dict[str, int]) -> Figure:
    """Horizontal bar chart: instructions in the pool per ``instruction_source``."""
    figure = Figure(figsize=(7, 0.45 * max(len(pool_counts), 1) + 1.2))
    axis = figure.subplots()
    names = sorted(pool_counts, key=pool_counts.get)
    axis.barh(names, [pool_counts[n] for n in names], color="#4C72B0")
    for y, name in enumerate(names):
        axis.text(pool_counts[name], y, f" {pool_counts[name]:,}", va="center", fontsize=8)
    axis.margins(x=0.15)  # room for the count labels
    axis.set_xlabel("instructions in the pool")
    axis.set_title("Instruction pool: source mix")
    figure.tight_layout()
    return figure
