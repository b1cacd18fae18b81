"""The herd report: the model x metric table (parquet + markdown) with the paper's published numbers
as reference rows, and the plots a person would rather look at."""

from __future__ import annotations

from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.figures import herd_figures
from lamini_lm.pipelines.evaluation.herd_table import BENCHMARK_ORDER, EXTRA_BENCHMARKS, herd_table
from lamini_lm.pipelines.evaluation.outcome import MEASURED, NO_LIVE_JUDGE, Status
from lamini_lm.pipelines.evaluation.params import BenchmarkParams, PaperReference
from lamini_lm.reporting import markdown_table


def _cell(row: pd.Series, column: str, status: str | None, fmt: str = "{:.1f}") -> str:
    value = row.get(column)
    if value is not None and not pd.isna(value):
        return fmt.format(value)
    if isinstance(status, str) and status not in MEASURED:
        return status if status == NO_LIVE_JUDGE else status.split(" (")[0]
    return "–"


def _params(n: Any) -> str:
    if n is None or pd.isna(n):
        return "–"
    n = float(n)
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def herd_markdown(table: pd.DataFrame, summaries: list[dict[str, Any]], benchmarks: BenchmarkParams) -> str:
    """The report as markdown, with honest labels for tiny students, replayed judges and missing data."""
    ours = table[table["kind"] == "ours"]
    bench_status = {s.get("model"): {t: r for t, r in (s.get("benchmarks") or {}).items()} for s in summaries}
    lines = ["# LaMini-LM herd report", ""]
    notes = []
    if ours["note"].fillna("").str.contains("tiny").any():
        notes.append(
            "Rows marked *tiny* are demo students built from a config and trained for minutes on a "
            "sample: near-chance benchmark scores are expected; they are **not** LaMini-LM's numbers."
        )
    if (ours["user_ratings_status"] == NO_LIVE_JUDGE).any():
        notes.append(
            "Judged columns say *not judged (no live judge)*: the replay teacher holds no recorded "
            "judgements; configure a live judge (`conf/paper`, params `teacher`) to fill them in."
        )
    notes.append(
        f"Benchmarks: zero-shot lm-evaluation-harness, first {benchmarks.limit or 'all'} documents per "
        "task; scores in %, with the paper's metric per task (acc or acc_norm; F1 for ReCoRD). "
        "*no data*: the benchmark has no copy in this environment and is not scored."
    )
    notes.append(
        "Paper rows are the published LaMini-LM numbers (parameters file `evaluation.paper_reference`); "
        "an empty cell there means the value was not found, not zero."
    )
    lines += [f"- {n}" for n in notes] + ["", "## NLP benchmarks (zero-shot, %)", ""]
    header = ["model", "params", *BENCHMARK_ORDER, "avg", "TruthfulQA MC1", "MC2"]
    rows = []
    for _, row in table[table["kind"] != "reference (recorded outputs)"].iterrows():
        name = row["model"] + (" *(tiny)*" if "tiny" in str(row["note"]) else "")
        name += " *(paper)*" if row["kind"] == "paper (published)" else ""
        statuses = bench_status.get(row["model"], {})
        cells = [name, _params(row["num_parameters"])]
        for task in [*BENCHMARK_ORDER, "benchmark_average", *EXTRA_BENCHMARKS]:
            result = statuses.get(task) or {}
            status = result.get("status")
            cells.append(_cell(row, task, status))
        cells[2 + len(BENCHMARK_ORDER)] += f" ({row['benchmarks_scored']})" if row["kind"] == "ours" else ""
        rows.append(cells)
    lines.append(markdown_table(header, rows))
    lines += ["", "## Instruction following, hallucination, toxicity, fidelity", ""]
    header = [
        "model",
        "A %",
        "B %",
        "C %",
        "D %",
        "win rate vs davinci-003 %",
        "hallucination %",
        "wrong refusal %",
        "toxicity (mean)",
        "toxic %",
        "ROUGE-L vs teacher %",
    ]
    rows = []
    for _, row in table[table["kind"] != "paper (published)"].iterrows():
        cells = [row["model"]]
        cells += [_cell(row, f"rating_{g}", row["user_ratings_status"]) for g in "ABCD"]
        cells.append(_cell(row, "alpaca_win_rate", row["alpaca_status"]))
        cells += [_cell(row, c, row["falseqa_status"]) for c in ("hallucination_rate", "wrong_refusal_rate")]
        cells.append(_cell(row, "toxicity_mean", row["toxicity_status"], "{:.3f}"))
        cells.append(_cell(row, "toxic_fraction", row["toxicity_status"]))
        cells.append(_cell(row, "fidelity_rougeL", row["fidelity_status"]))
        rows.append(cells)
    lines.append(markdown_table(header, rows))
    problems = [
        (s.get("model"), t, r.get("reason"))
        for s in summaries
        for t, r in (s.get("benchmarks") or {}).items()
        if r.get("status") == Status.ERROR
    ]
    problems += [
        (s.get("model"), section, (s.get(section) or {}).get("status"))
        for s in summaries
        for section in ("user_ratings", "alpaca_eval", "falseqa", "toxicity", "fidelity")
        if (s.get(section) or {}).get("status") not in (Status.OK, Status.JUDGED, NO_LIVE_JUDGE)
    ]
    problems += [(s.get("model"), "checkpoint", s.get("status")) for s in summaries if s.get("status") != Status.OK]
    if problems:
        lines += ["", "## Not scored, and why (the rest of the herd was evaluated)", ""]
        lines += [f"- **{m}** / {t}: {r}" for m, t, r in problems]
    return "\n".join(lines) + "\n"


def build_herd_report(
    paper_reference: PaperReference,
    references: dict[str, Any],
    benchmarks: BenchmarkParams,
    *summaries: dict[str, Any],
) -> tuple[pd.DataFrame, str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Table, markdown, figures (for the plots folder and, in memory, for MLflow) and every summary."""
    summaries_list = list(summaries)
    table = herd_table(summaries_list, references, paper_reference)
    figures = herd_figures(table)
    by_model = {str(s.get("model")): s for s in summaries_list}
    return table, herd_markdown(table, summaries_list, benchmarks), figures, figures, by_model
