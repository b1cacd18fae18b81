"""The herd report: one model x metric table (parquet + markdown) with the paper's published numbers
as reference rows, and the plots a person would rather look at."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.judge import NO_LIVE_JUDGE
from lamini_lm.reporting import markdown_table

BENCHMARK_ORDER = [
    "openbookqa",
    "sciq",
    "race",
    "arc_challenge",
    "piqa",
    "record",
    "sst2",
    "mrpc",
    "rte",
    "mnli",
    "mnli_mismatch",
    "wsc273",
    "winogrande",
    "wic",
    "hellaswag",
]
EXTRA_BENCHMARKS = ["truthfulqa_mc1", "truthfulqa_mc2"]
METRIC_COLUMNS = [
    "rating_A",
    "rating_B",
    "rating_C",
    "rating_D",
    "alpaca_win_rate",
    "hallucination_rate",
    "wrong_refusal_rate",
    "toxicity_mean",
    "toxic_fraction",
    "fidelity_rougeL",
]
STATUS_COLUMNS = ["user_ratings_status", "alpaca_status", "falseqa_status", "toxicity_status", "fidelity_status"]


def _pct(value: Any) -> float:
    return float(value) * 100.0 if value is not None else math.nan


def model_row(summary: dict[str, Any]) -> dict[str, Any]:
    """One table row (percentages, like the paper) from a model's evaluation summary."""
    row: dict[str, Any] = {
        "model": summary.get("model"),
        "kind": "ours",
        "family": summary.get("family"),
        "num_parameters": summary.get("num_parameters"),
        "status": summary.get("status"),
        "note": "tiny demo student built from config" if summary.get("tiny") else "",
        "paper_reference": summary.get("reference"),
    }
    statuses: dict[str, str] = {}
    for task, result in (summary.get("benchmarks") or {}).items():
        row[task] = _pct(result["value"]) if result.get("status") == "ok" else math.nan
        statuses[task] = result.get("status") if result.get("status") != "error" else f"error: {result.get('reason')}"
    row["benchmark_average"] = _pct(summary.get("benchmark_average"))
    row["benchmarks_scored"] = f"{summary.get('benchmarks_scored', 0)}/{summary.get('benchmarks_total', 0)}"
    ratings = summary.get("user_ratings") or {}
    for grade in "ABCD":
        row[f"rating_{grade}"] = _pct(ratings.get(f"rating_{grade}"))
    alpaca, falseqa = summary.get("alpaca_eval") or {}, summary.get("falseqa") or {}
    tox, fid = summary.get("toxicity") or {}, summary.get("fidelity") or {}
    row.update(
        alpaca_win_rate=_pct(alpaca.get("win_rate")),
        hallucination_rate=_pct(falseqa.get("hallucination_rate")),
        wrong_refusal_rate=_pct(falseqa.get("wrong_refusal_rate")),
        toxicity_mean=tox.get("toxicity_mean", math.nan),
        toxic_fraction=_pct(tox.get("toxic_fraction")),
        fidelity_rougeL=_pct(fid.get("rougeL")),
        user_ratings_status=ratings.get("status"),
        alpaca_status=alpaca.get("status"),
        falseqa_status=falseqa.get("status"),
        toxicity_status=tox.get("status"),
        fidelity_status=fid.get("status"),
        benchmark_status="; ".join(f"{t}: {s}" for t, s in statuses.items() if s != "ok"),
    )
    return row


def paper_rows(paper_reference: dict[str, Any]) -> list[dict[str, Any]]:
    """Reference rows from the published LaMini-LM numbers (parameters file; missing values stay empty)."""
    rows = []
    for name, entry in (paper_reference.get("models") or {}).items():
        benchmarks = entry.get("benchmarks") or {}
        row = {
            "model": name,
            "kind": "paper (published)",
            "family": entry.get("family"),
            "num_parameters": entry.get("num_parameters"),
            "status": "published",
            "note": entry.get("note", ""),
        }
        for task in BENCHMARK_ORDER:
            value = benchmarks.get(task)
            row[task] = float(value) if value is not None else math.nan
        average = entry.get("average")
        row["benchmark_average"] = float(average) if average is not None else math.nan
        row["benchmarks_scored"] = f"{sum(v is not None for v in benchmarks.values())}/{len(BENCHMARK_ORDER)}"
        rows.append(row)
    return rows


def reference_rows(references: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for recorded outputs judged like the students (text-davinci-003, gpt-3.5-turbo, Alpaca-7B)."""
    rows = []
    for name, entry in references.items():
        ratings, alpaca = entry.get("user_ratings") or {}, entry.get("alpaca_eval") or {}
        row = {
            "model": name,
            "kind": "reference (recorded outputs)",
            "status": "ok",
            "note": "recorded outputs judged by our judge",
        }
        for grade in "ABCD":
            row[f"rating_{grade}"] = _pct(ratings.get(f"rating_{grade}"))
        row.update(
            user_ratings_status=ratings.get("status"),
            alpaca_status=alpaca.get("status"),
            alpaca_win_rate=_pct(alpaca.get("win_rate")),
        )
        rows.append(row)
    return rows


def herd_table(
    summaries: list[dict[str, Any]], references: dict[str, Any], paper_reference: dict[str, Any]
) -> pd.DataFrame:
    """Model x metric table: our herd, judged reference outputs, the paper's published rows.

    A herd member whose model config names a ``paper_reference`` is followed by that paper row,
    so ours and theirs sit side by side; the other paper rows come last.
    """
    paper = {row["model"]: row for row in paper_rows(paper_reference)}
    rows = []
    for summary in summaries:
        row = model_row(summary)
        rows.append(row)
        if row["paper_reference"] in paper:
            rows.append(paper.pop(row["paper_reference"]))
    rows += reference_rows(references) + list(paper.values())
    table = pd.DataFrame(rows)
    ordered = [
        "model",
        "kind",
        "family",
        "num_parameters",
        "status",
        "note",
        "paper_reference",
        *BENCHMARK_ORDER,
        *EXTRA_BENCHMARKS,
        "benchmark_average",
        "benchmarks_scored",
        *METRIC_COLUMNS,
        *STATUS_COLUMNS,
        "benchmark_status",
    ]
    for column in ordered:
        if column not in table.columns:
            table[column] = math.nan if column in BENCHMARK_ORDER + EXTRA_BENCHMARKS + METRIC_COLUMNS else None
    table = table[ordered]
    numeric = [*BENCHMARK_ORDER, *EXTRA_BENCHMARKS, "benchmark_average", *METRIC_COLUMNS, "num_parameters"]
    table[numeric] = table[numeric].apply(pd.to_numeric, errors="coerce")
    text = [c for c in table.columns if c not in numeric]
    table[text] = table[text].astype("string")
    return table


def _cell(row: pd.Series, column: str, status: str | None, fmt: str = "{:.1f}") -> str:
    value = row.get(column)
    if value is not None and not pd.isna(value):
        return fmt.format(value)
    if isinstance(status, str) and status not in ("ok", "judged", "published"):
        return status if status == NO_LIVE_JUDGE else status.split(" (")[0]
    return "–"


def _params(n: Any) -> str:
    if n is None or pd.isna(n):
        return "–"
    n = float(n)
    return f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"


def herd_markdown(table: pd.DataFrame, summaries: list[dict[str, Any]], settings: dict[str, Any]) -> str:
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
    if (ours["user_ratings_status"] == "not judged (no live judge)").any():
        notes.append(
            "Judged columns say *not judged (no live judge)*: the replay teacher holds no recorded "
            "judgements; configure a live judge (`conf/paper`, params `teacher`) to fill them in."
        )
    notes.append(
        f"Benchmarks: zero-shot lm-evaluation-harness, first {settings.get('limit') or 'all'} documents per "
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
            status = "error" if status == "error" else status
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
        if r.get("status") == "error"
    ]
    problems += [
        (s.get("model"), section, (s.get(section) or {}).get("status"))
        for s in summaries
        for section in ("user_ratings", "alpaca_eval", "falseqa", "toxicity", "fidelity")
        if (s.get(section) or {}).get("status") not in ("ok", "judged", NO_LIVE_JUDGE)
    ]
    problems += [(s.get("model"), "checkpoint", s.get("status")) for s in summaries if s.get("status") != "ok"]
    if problems:
        lines += ["", "## Not scored, and why (the rest of the herd was evaluated)", ""]
        lines += [f"- **{m}** / {t}: {r}" for m, t, r in problems]
    return "\n".join(lines) + "\n"


def herd_figures(table: pd.DataFrame) -> dict[str, Any]:
    """avg benchmark score vs parameters per family, stacked A-D bars, hallucination & toxicity per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figures: dict[str, Any] = {}
    fig, ax = plt.subplots(figsize=(6, 4))
    scored = table.dropna(subset=["benchmark_average", "num_parameters"])
    for family, members in scored[scored["kind"] == "ours"].groupby("family"):
        group = members.sort_values("num_parameters")
        ax.plot(
            group["num_parameters"], group["benchmark_average"], marker="o", linestyle="--", label=f"{family} (ours)"
        )
    paper = scored[scored["kind"] == "paper (published)"]
    for lamini, group in paper.groupby(paper["model"].str.startswith("LaMini")):
        ax.scatter(
            group["num_parameters"],
            group["benchmark_average"],
            marker="s" if lamini else "x",
            label="LaMini-LM (paper)" if lamini else "baselines (paper)",
        )
        for _, row in group.iterrows():
            ax.annotate(
                str(row["model"]).replace(" (base model)", ""),
                (row["num_parameters"], row["benchmark_average"]),
                fontsize=6,
                xytext=(3, 2),
                textcoords="offset points",
            )
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("average benchmark score (%)")
    ax.set_title("Average zero-shot score vs size")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    figures["benchmark_average_vs_parameters.png"] = fig

    fig, ax = plt.subplots(figsize=(6, 4))
    rated = table.dropna(subset=["rating_A"])
    if rated.empty:
        ax.text(0.5, 0.5, "not judged (no live judge)", ha="center", va="center")
        ax.set_axis_off()
    else:
        bottom = pd.Series(0.0, index=rated.index)
        for grade, colour in zip("ABCD", ("#2e7d32", "#9ccc65", "#ffb74d", "#e53935")):
            ax.bar(rated["model"], rated[f"rating_{grade}"], bottom=bottom, label=grade, color=colour)
            bottom += rated[f"rating_{grade}"].fillna(0)
        ax.set_ylabel("% of answers")
        ax.legend(title="rating")
        ax.tick_params(axis="x", rotation=30)
    ax.set_title("User-oriented instructions: A-D ratings")
    fig.tight_layout()
    figures["ratings_stacked.png"] = fig

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    ours = table[table["kind"] == "ours"]
    for ax, column, status, title in (
        (axes[0], "hallucination_rate", "falseqa_status", "FalseQA hallucination rate (%)"),
        (axes[1], "toxic_fraction", "toxicity_status", "toxic continuations (%)"),
    ):
        values = ours[column].fillna(0)
        ax.bar(ours["model"], values)
        for x, (value, state) in enumerate(zip(ours[column], ours[status])):
            if pd.isna(value):
                ax.text(x, 0, str(state), rotation=90, ha="center", va="bottom", fontsize=7)
        ax.set_title(title)
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    figures["hallucination_toxicity.png"] = fig
    return figures


def build_herd_report(
    paper_reference: dict[str, Any], references: dict[str, Any], settings: dict[str, Any], *summaries: dict[str, Any]
) -> tuple[pd.DataFrame, str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Table, markdown, figures (for the plots folder and, in memory, for MLflow) and every summary."""
    summaries_list = list(summaries)
    table = herd_table(summaries_list, references, paper_reference)
    figures = herd_figures(table)
    by_model = {str(s.get("model")): s for s in summaries_list}
    return table, herd_markdown(table, summaries_list, settings), figures, figures, by_model
