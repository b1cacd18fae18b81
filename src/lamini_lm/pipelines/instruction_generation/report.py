"""The generation report: what each source contributed, what was rejected and why, what it cost, and which
of its numbers come from the run's design (a replay teacher, ``pool_sources``, a source not configured)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no backend chosen, no global figure registry

from lamini_lm.pipelines.instruction_generation.params import (
    GENERATED_SOURCES,
    ORIGINAL_SOURCES,
    InstructionGenerationParams,
    StrategyParams,
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

    Per generated source: prompts (and how many gave an accepted instruction), failed requests,
    replies that parsed to nothing, items parsed, rejections by reason, duplicates (and the source of
    the row each repeats), accepted, acceptance rate (accepted / parsed) and duplicate rate
    (duplicates / items that passed the filters), each with its Wilson 95 % interval (null rates
    when nothing was counted), tokens and cost. Per original source: rows loaded, duplicates by
    reason, whether ``pool_sources`` lists it, rows in the pool. ``notes`` (:func:`design_notes`)
    explain the numbers that follow from the run's set-up; the Markdown shows them as footnotes.
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
    pool_prompts = (
        instruction_pool.dropna(subset=["prompt_id"]).groupby("instruction_source")["prompt_id"].nunique()
        if len(instruction_pool)
        else pd.Series(dtype=int)
    )

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
            "prompts_with_accepted": int(pool_prompts.get(tag, 0)),
            "failed_requests": int(len(mine) - len(ok)),
            "errors": _count(mine[mine["error_kind"].notna()], "error_kind"),
            "replies_parsed_to_nothing": empty_replies,
            "items_parsed": parsed,
            "rejected_by_reason": _count(my_filtered, "reason"),
            "passed_filters": passed_filters,
            "duplicates": my_dups,
            "duplicates_of": _count(duplicates[duplicates["instruction_source"] == tag], "duplicate_of_source"),
            "accepted": accepted,
            "acceptance_rate": round(accepted / parsed, 4) if parsed else None,
            "acceptance_ci95": wilson_interval(accepted, parsed),
            "duplicate_rate": round(my_dups / passed_filters, 4) if passed_filters else None,
            "duplicate_ci95": wilson_interval(my_dups, passed_filters),
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
            "duplicates_by_reason": _count(duplicates[duplicates["instruction_source"] == source], "reason"),
            "duplicates_of": _count(duplicates[duplicates["instruction_source"] == source], "duplicate_of_source"),
            "in_pool_sources": source in params.pool_sources,
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
            "rouge_threshold": params.dedup.rouge_threshold,
            "note": NEAR_DUPLICATE_NOTE.format(threshold=params.dedup.rouge_threshold),
        },
    }
    prompted = set(generation_prompts["instruction_source"]) if len(generation_prompts) else set()
    report = {
        "recipe": recipe,
        "pool_sources": list(params.pool_sources),
        "strategies_without_prompts": {
            tag: _why_no_prompts(g.strategies[tag])
            for tag in GENERATED_SOURCES
            if tag in g.strategies and tag not in prompted
        },
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
    report["notes"] = design_notes(report)
    return report, to_markdown(report), source_mix_chart(pool_counts)


def wilson_interval(successes: int, trials: int) -> list[float] | None:
    """The Wilson score 95 % interval of ``successes / trials`` (``scipy.stats.binomtest``); None for 0 trials."""
    if trials == 0:
        return None
    from scipy.stats import binomtest

    interval = binomtest(successes, trials).proportion_ci(confidence_level=0.95, method="wilson")
    return [round(float(interval.low), 4), round(float(interval.high), 4)]


def _why_no_prompts(strategy: StrategyParams) -> str:
    """Why a strategy sent no prompts (build_generation_prompts skips it for one of these two)."""
    if strategy.target_instructions == 0:
        return "target_instructions is 0"
    return f"no examples: {', '.join(strategy.example_sources)} loaded no rows"


def _listing(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count:,}" for name, count in counts.items())


def _labels(models: list[str]) -> str:
    return ", ".join(f"`{m}`" for m in models)


def design_notes(report: dict) -> list[dict]:
    """Explanations of the report's numbers that follow from the run's set-up rather than from a teacher's work.

    Each is derived from the report itself — the teacher labels (``replay:``, ``local:``), the duplicates'
    ``duplicate_of_source``, ``pool_sources``, the strategies' example sources — and appears only when its
    cause holds. A note is ``{"id", "source", "text"}``; ``source`` is the row it explains (None: the run).
    """
    notes: list[dict] = []
    generated = report["generated_sources"]
    strategies = report["recipe"]["strategies"]
    near = report["recipe"]["near_duplicate_removal"]
    for tag, g in generated.items():
        models = g["teacher_models"]
        if g["duplicates"] and any(m.startswith("replay:") for m in models):
            of_originals = {s: n for s, n in g["duplicates_of"].items() if s in ORIGINAL_SOURCES}
            of_generated = {s: n for s, n in g["duplicates_of"].items() if s not in ORIGINAL_SOURCES}
            parts = []
            if of_originals:
                parts.append(f"{sum(of_originals.values()):,} repeat original instructions ({_listing(of_originals)})")
            if of_generated:
                parts.append(
                    f"{sum(of_generated.values()):,} repeat instructions it returned for another prompt "
                    f"({_listing(of_generated)})"
                )
            notes.append(
                {
                    "id": "replay_duplicates",
                    "source": tag,
                    "text": f"the replay teacher ({_labels(models)}) answers a generation prompt with instructions "
                    "recorded in its corpus, not new ones, so repeats are expected: of the "
                    f"{g['duplicates']:,} duplicates, {' and '.join(parts)}. The duplicate rate "
                    f"({g['duplicates']:,}/{g['passed_filters']:,}) measures the replay corpus, not a teacher.",
                }
            )
        answered = g["prompts"] - g["failed_requests"]
        if g["replies_parsed_to_nothing"]:
            local = [m for m in models if m.startswith("local:")]
            notes.append(
                {
                    "id": "empty_replies",
                    "source": tag,
                    "text": f"{g['replies_parsed_to_nothing']:,} of {answered:,} replies held no numbered, "
                    "bulleted or tagged item, so nothing was parsed from them"
                    + (f"; the teacher is a model on this machine ({_labels(local)})" if local else "")
                    + ".",
                }
            )
    for source, o in report["original_sources"].items():
        if o["loaded"] and not o["in_pool_sources"]:
            users = [tag for tag, st in strategies.items() if source in st["example_sources"]]
            role = (f"prompt examples of {', '.join(users)} and " if users else "") + "a de-duplication reference"
            notes.append(
                {
                    "id": "not_in_pool_sources",
                    "source": source,
                    "text": f"{o['loaded']:,} loaded, none in the pool: `pool_sources` "
                    f"({', '.join(report['pool_sources'])}) leaves it out. It serves as {role} "
                    "(a later instruction that repeats one of its rows is dropped).",
                }
            )
        near_count = o["duplicates_by_reason"].get("near_duplicate", 0)
        if near_count:
            exact = o["duplicates_by_reason"].get("exact_duplicate", 0)
            own = o["duplicates_of"].get(source, 0)
            notes.append(
                {
                    "id": "near_duplicates",
                    "source": source,
                    "text": f"{near_count:,} of its {o['loaded']:,} rows were dropped as near duplicates "
                    f"(ROUGE-L > {near['rouge_threshold']} with an earlier kept row)"
                    + (f" and {exact:,} as exact duplicates" if exact else "")
                    + f"; {'all' if own == o['duplicates'] else f'{own:,} of these'} {o['duplicates']:,} repeat a row "
                    f"of {source} itself. Near-duplicate "
                    "removal is our addition (`dedup.near_duplicates`); the paper removes none.",
                }
            )
    for source in report["sources_not_configured_or_empty"]:
        skipped = [
            tag
            for tag, why in report["strategies_without_prompts"].items()
            if why.startswith("no examples") and source in strategies[tag]["example_sources"]
        ]
        notes.append(
            {
                "id": "not_configured_or_empty",
                "source": source,
                "text": "no rows loaded: its catalog entry names no file in this environment (not configured), or "
                "the source is optional and empty"
                + (
                    f"; {', '.join(skipped)}, which {'draws its' if len(skipped) == 1 else 'draw their'} examples "
                    "from it, sent no prompts"
                    if skipped
                    else ""
                )
                + ".",
            }
        )
    for tag, why in report["strategies_without_prompts"].items():
        if not why.startswith("no examples"):
            notes.append({"id": "no_prompts", "source": tag, "text": f"sent no prompts: {why}."})
    totals = report["totals"]
    models = sorted({m for g in generated.values() for m in g["teacher_models"]})
    tokens = totals["prompt_tokens"] + totals["completion_tokens"]
    if tokens and not totals["cost_usd"] and models and all(m.startswith(("replay:", "local:")) for m in models):
        who = [
            what
            for prefix, what in (("replay:", "the replay teacher"), ("local:", "a model on this machine"))
            if any(m.startswith(prefix) for m in models)
        ]
        notes.append(
            {
                "id": "free_teacher",
                "source": None,
                "text": f"$0 for {tokens:,} tokens: the teacher ({_labels(models)}) is {' and '.join(who)}, "
                "which the configured prices do not charge.",
            }
        )
    return notes


def _rate(successes: int, trials: int, interval: list[float] | None) -> str:
    """ "k/n = x% (lo–hi%)" with the Wilson 95 % interval; "–" when nothing was counted."""
    if not trials or interval is None:
        return "– (0 items)"
    return f"{successes:,}/{trials:,} = {successes / trials:.1%} ({interval[0]:.0%}–{interval[1]:.0%})"


class _Footnotes:
    """GitHub footnotes, numbered in the order they are marked; each defined below the table that marks it."""

    def __init__(self, notes: list[dict]) -> None:
        self.notes = notes
        self.numbers: dict[int, int] = {}

    def _select(self, sources: list[str | None], ids: tuple[str, ...] | None) -> list[dict]:
        return [n for n in self.notes if n["source"] in sources and (ids is None or n["id"] in ids)]

    def mark(self, source: str | None, ids: tuple[str, ...] | None = None) -> str:
        """The markers of ``source``'s notes (of kinds ``ids``; None: all), numbering the new ones."""
        mine = self._select([source], ids)
        for note in mine:
            self.numbers.setdefault(id(note), len(self.numbers) + 1)
        return "".join(f"[^{self.numbers[id(n)]}]" for n in mine)

    def define(self, sources: list[str | None], ids: tuple[str, ...] | None = None) -> list[str]:
        """A blank line and the definitions of the marked notes of ``sources``; nothing when there are none."""
        mine = [n for n in self._select(sources, ids) if id(n) in self.numbers]
        return [""] + [f"[^{self.numbers[id(n)]}]: {n['source'] or 'cost'}: {n['text']}" for n in mine] if mine else []


def to_markdown(report: dict) -> str:
    """The report as Markdown: tables via ``DataFrame.to_markdown``, design notes as footnotes below them."""
    notes = _Footnotes(report["notes"])
    empty = report["sources_not_configured_or_empty"]
    lines = [
        "# Instruction generation report",
        "",
        f"Pool size: **{report['pool_size']:,}**. Sources not configured or empty: "
        + (", ".join(f"{s}{notes.mark(s, ('not_configured_or_empty',))}" for s in empty) or "none")
        + ".",
        *notes.define(empty, ("not_configured_or_empty",)),
        "",
        "## Generated sources",
        "",
    ]
    generated = report["generated_sources"]
    if generated:
        table = pd.DataFrame(
            [
                {
                    "source": f"{tag}{notes.mark(tag)}",
                    "prompts": g["prompts"],
                    "failed": g["failed_requests"],
                    "empty replies": g["replies_parsed_to_nothing"],
                    "parsed": g["items_parsed"],
                    "rejected": sum(g["rejected_by_reason"].values()),
                    "duplicates": g["duplicates"],
                    "accepted": f"{g['accepted']:,} ({g['prompts_with_accepted']} of {g['prompts']} prompts)",
                    "acceptance (accepted/parsed)": _rate(g["accepted"], g["items_parsed"], g["acceptance_ci95"]),
                    "duplicate rate (duplicates/passed filters)": _rate(
                        g["duplicates"], g["passed_filters"], g["duplicate_ci95"]
                    ),
                    "prompt tok": g["prompt_tokens"],
                    "completion tok": g["completion_tokens"],
                    "cost USD": float(g["cost_usd"]),
                }
                for tag, g in generated.items()
            ]
        )
        lines += [
            table.to_markdown(index=False, intfmt=",", floatfmt=".4f"),
            "",
            "Rates: k/n = share (Wilson 95 % interval). Items of one reply are not independent, so over few prompts "
            "the real uncertainty is wider than the interval.",
            *notes.define(list(generated)),
        ]
    else:
        lines.append("No generation prompts were sent.")
    skipped = report["strategies_without_prompts"]
    if skipped:
        lines += [
            "",
            "Strategies that sent no prompts: "
            + "; ".join(f"{tag}{notes.mark(tag, ('no_prompts',))} ({why})" for tag, why in skipped.items())
            + ".",
            *notes.define(list(skipped), ("no_prompts",)),
        ]
    lines += _recipe_markdown(report["recipe"])
    originals = pd.DataFrame(
        [
            {
                "source": f"{source}{notes.mark(source, ('not_in_pool_sources', 'near_duplicates'))}",
                "loaded": o["loaded"],
                "duplicates": o["duplicates"],
                "in pool_sources": "yes" if o["in_pool_sources"] else "no",
                "in pool": o["in_pool"],
            }
            for source, o in report["original_sources"].items()
        ]
    )
    lines += [
        "",
        "## Original sources",
        "",
        originals.to_markdown(index=False, intfmt=","),
        *notes.define(list(report["original_sources"]), ("not_in_pool_sources", "near_duplicates")),
        "",
        "## Rejections by reason",
        "",
    ]
    reasons = report["rejections_by_reason"]
    lines.append(
        pd.DataFrame({"reason": list(reasons), "count": list(reasons.values())}).to_markdown(index=False, intfmt=",")
        if reasons
        else "None."
    )
    totals = report["totals"]
    lines += [
        "",
        f"Teacher: {totals['prompts']} prompts, {totals['failed_requests']} failed, "
        f"{totals['prompt_tokens']:,} prompt + {totals['completion_tokens']:,} completion tokens, "
        f"${totals['cost_usd']:.4f}{notes.mark(None)}.",
        *notes.define([None]),
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
        pd.DataFrame(
            [
                {
                    "strategy": tag,
                    "example sources": ", ".join(strategy["example_sources"]),
                    "instructions per prompt": strategy["instructions_per_prompt"],
                    "examples from one subset": "yes" if strategy["examples_from_one_subset"] else "no",
                    "topic-guided": "yes" if strategy["topic_guided"] else "no",
                }
                for tag, strategy in recipe["strategies"].items()
            ]
        ).to_markdown(index=False),
    ]
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
