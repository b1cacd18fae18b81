"""The herd report's plots and each student's benchmark chart for MLflow.

Figures are plain ``matplotlib.figure.Figure`` objects, never registered with pyplot: nothing to
close and no backend to choose (a notebook keeps its inline plots).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from lamini_lm.pipelines.evaluation.herd_table import EVALUATED, OURS, PAPER, REFERENCE
from lamini_lm.pipelines.evaluation.outcome import Status
from lamini_lm.pipelines.evaluation.paper_tables import BENCHMARK_ORDER

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(width: float, height: float, columns: int = 1) -> tuple[Figure, Any]:
    from matplotlib.figure import Figure  # ~0.3 s: imported when a report is drawn, not with the pipeline

    fig = Figure(figsize=(width, height))
    return fig, fig.subplots(1, columns)


def _label_offsets(points: pd.DataFrame, step: float = 0.55) -> list[float]:
    """How far (in score units) to move each label up or down so that labels of nearby points (log size,
    score) do not overlap; a moved label gets a leader line to its point."""
    placed: list[tuple[float, float]] = []
    offsets = []
    for x, y in zip(np.log10(points["num_parameters"].astype(float)), points["benchmark_average"].astype(float)):
        for shift in (0.0, *(sign * k * step for k in range(1, 8) for sign in (1, -1))):
            if not any(abs(x - px) < 0.14 and abs(y + shift - py) < step for px, py in placed):
                break
        placed.append((x, y + shift))
        offsets.append(shift)
    return offsets


def average_vs_size(table: pd.DataFrame) -> Figure:
    """Average zero-shot score vs parameters: every published row of the paper (labelled), ours, and the
    reference models evaluated as they are."""
    fig, ax = _figure(10, 6.5)
    scored = table.dropna(subset=["benchmark_average", "num_parameters"])
    ours = scored[scored["kind"] == OURS]
    for family, members in ours.groupby("family"):
        group = members.sort_values("num_parameters")
        ax.plot(
            group["num_parameters"], group["benchmark_average"], marker="o", linestyle="--", label=f"{family} (ours)"
        )
    references = scored[scored["kind"] == REFERENCE]
    if not references.empty:
        ax.scatter(
            references["num_parameters"], references["benchmark_average"], marker="*", s=90, label="reference (as is)"
        )
    paper = scored[scored["kind"] == PAPER]
    for lamini, group in paper.groupby(paper["note"] == "LaMini model"):
        ax.scatter(
            group["num_parameters"],
            group["benchmark_average"],
            marker="s" if lamini else "x",
            label="LaMini-LM (paper)" if lamini else "base models / baselines (paper)",
        )
    points = pd.concat([paper, ours, references])
    # Ours average only the tasks they scored: a label says how many of the paper's 15 that is.
    names = [
        str(m)
        if kind == PAPER or scored == f"{len(BENCHMARK_ORDER)}/{len(BENCHMARK_ORDER)}"
        else f"{m} ({scored} tasks)"
        for m, kind, scored in zip(points["model"], points["kind"], points["benchmarks_scored"])
    ]
    for x, y, name, shift in zip(points["num_parameters"], points["benchmark_average"], names, _label_offsets(points)):
        ax.annotate(
            str(name),
            (x, y),
            xytext=(x * 1.04, y + shift),
            fontsize=5.5,
            va="center",
            arrowprops={"arrowstyle": "-", "lw": 0.3, "color": "grey"} if shift else None,
        )
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel("average zero-shot score (%)")
    evaluated = len(ours) + len(references)
    ax.set_title(
        f"Average zero-shot score vs size: {len(paper)} published rows (EACL 2024 Tables 9–14) and "
        + (f"{evaluated} of ours (over the tasks each scored)" if evaluated else "none of ours (nothing scored)"),
        fontsize=9,
    )
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def ratings_figure(table: pd.DataFrame) -> Figure:
    """Stacked A-D shares per rated model; when nothing was rated, no axes and a title saying so and why."""
    rated = table.dropna(subset=["rating_A"])
    if rated.empty:
        from matplotlib.figure import Figure

        states = sorted({str(s) for s in table["user_ratings_status"].dropna()}) or ["no rows"]
        fig = Figure(figsize=(6, 0.9))
        fig.suptitle("User-oriented instructions: A-D ratings: nothing to plot", fontsize=10, y=0.9, va="top")
        fig.text(0.5, 0.35, "; ".join(textwrap.shorten(s, 70) for s in states), ha="center", va="center", fontsize=8)
        return fig
    fig, ax = _figure(6, 4)
    bottom = pd.Series(0.0, index=rated.index)
    for grade, colour in zip("ABCD", ("#2e7d32", "#9ccc65", "#ffb74d", "#e53935")):
        ax.bar(rated["model"], rated[f"rating_{grade}"], bottom=bottom, label=grade, color=colour)
        bottom += rated[f"rating_{grade}"].fillna(0)
    ax.set_ylabel("% of answers")
    ax.legend(title="rating")
    ax.tick_params(axis="x", rotation=30)
    ax.set_title("User-oriented instructions: A-D ratings")
    fig.tight_layout()
    return fig


HALLUCINATION_PANELS = (
    ("lamini_hallucinated_total", "lamini_hallucination_status", "LaMini-Hallucination: hallucinated (of 40)"),
    ("hallucination_rate", "falseqa_status", "FalseQA (extra): hallucination rate (%)"),
    ("toxic_fraction", "toxicity_status", "toxic continuations (%)"),
)


def hallucination_toxicity_figure(table: pd.DataFrame) -> Figure:
    """One bar panel per measurement that has a value for some member; with none, no axes at all — the
    figure's text says why each is empty (e.g. ``not judged (no live judge)``)."""
    ours = table[table["kind"].isin(EVALUATED)]
    panels = [p for p in HALLUCINATION_PANELS if ours[p[0]].notna().any()]
    if not panels:
        from matplotlib.figure import Figure

        reasons = []
        for _, status, title in HALLUCINATION_PANELS:
            states = sorted({str(s) for s in ours[status].dropna()}) or ["no rows"]
            reasons.append(f"{title}: {'; '.join(textwrap.shorten(s, 70) for s in states)}")
        # No axes: the title says there is nothing to plot and each line why (wrapped, so nothing is clipped).
        height = 0.5 + 0.22 * len(reasons)
        fig = Figure(figsize=(9, height))
        fig.suptitle("Hallucination and toxicity: nothing to plot", fontsize=11, y=1 - 0.08 / height, va="top")
        fig.text(0.02, 1 - 0.4 / height, "\n".join(reasons), ha="left", va="top", fontsize=8)
        return fig
    fig, axes = _figure(4.5 * len(panels), 4, columns=len(panels))
    axes = list(axes) if len(panels) > 1 else [axes]
    for ax, (column, status, title) in zip(axes, panels):
        ax.bar(ours["model"], ours[column].fillna(0))
        for x, (value, state) in enumerate(zip(ours[column], ours[status])):
            if pd.isna(value):
                ax.text(x, 0, str(state), rotation=90, ha="center", va="bottom", fontsize=7)
        ax.set_title(title, fontsize=9)
        ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def herd_figures(table: pd.DataFrame) -> dict[str, Figure]:
    """Average score vs parameters, stacked A-D bars, hallucination & toxicity per model."""
    return {
        "benchmark_average_vs_parameters.png": average_vs_size(table),
        "ratings_stacked.png": ratings_figure(table),
        "hallucination_toxicity.png": hallucination_toxicity_figure(table),
    }


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
