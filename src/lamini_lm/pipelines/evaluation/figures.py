"""The herd report's plots and each student's benchmark chart for MLflow.

Figures are plain ``matplotlib.figure.Figure`` objects, never registered with pyplot: nothing to
close and no backend to choose (a notebook keeps its inline plots).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from lamini_lm.pipelines.evaluation.outcome import NO_LIVE_JUDGE, Status

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure  # ~0.3 s: imported when a report is drawn, not with the pipeline

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, columns)


def herd_figures(table: pd.DataFrame) -> dict[str, Figure]:
    """avg benchmark score vs parameters per family, stacked A-D bars, hallucination & toxicity per model."""
    figures: dict[str, Figure] = {}
    fig, ax = _figure(6, 4)
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

    fig, ax = _figure(6, 4)
    rated = table.dropna(subset=["rating_A"])
    if rated.empty:
        ax.text(0.5, 0.5, NO_LIVE_JUDGE, ha="center", va="center")
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

    fig, axes = _figure(9, 4, columns=2)
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


def student_figure(summary: dict[str, Any]) -> Figure:
    """Bar chart of one student's benchmark scores (status written where there is no score)."""
    results = summary.get("benchmarks") or {}
    tasks = sorted(results)
    fig, ax = _figure(7, 3)
    values = [(results[t]["value"] or 0) * 100 if results[t].get("status") == Status.OK else 0 for t in tasks]
    ax.bar(tasks, values)
    for x, task in enumerate(tasks):
        if results[task].get("status") != Status.OK:
            ax.text(x, 1, results[task].get("status"), rotation=90, ha="center", va="bottom", fontsize=7)
    ax.set_ylabel("score (%)")
    ax.set_title(f"{summary.get('model')}: zero-shot benchmarks")
    ax.tick_params(axis="x", rotation=60, labelsize=7)
    fig.tight_layout()
    return fig
