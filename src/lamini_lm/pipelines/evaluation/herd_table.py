"""The herd table: one row per model (ours, reference models evaluated as they are, judged reference
outputs, every published row of the paper), one column per metric, in percentages like the paper.

A member that names its paper rows (``paper_reference``, ``paper_base_reference``) is followed by
them and by a row of per-task differences (ours − the paper's LaMini model).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.benchmarks import extra_tasks
from lamini_lm.pipelines.evaluation.outcome import Status
from lamini_lm.pipelines.evaluation.paper_tables import (
    BENCHMARK_ORDER,
    HALLUCINATION_CATEGORIES,
    REFERENCE_KEYS,
    check_references,
    paper_results,
)
from lamini_lm.pipelines.evaluation.summary import REFERENCE as REFERENCE_ROLE

PAPER = "paper (published)"
OURS = "ours"
DIFFERENCE = "difference (ours − paper)"
RECORDED = "reference (recorded outputs)"
REFERENCE = "reference (evaluated as is)"
# Kinds of rows measured here, by this run: a trained member (OURS) or a reference member (REFERENCE).
EVALUATED = (OURS, REFERENCE)


def extra_benchmarks(summaries: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    """``(task key, name)`` of the tasks beside the paper's 15: the package's extras (``paper_task: false``:
    TruthfulQA MC1/MC2, BoolQ), then every other task a member has a result for (a task file of
    ``evaluation.benchmarks.task_dirs``), in the order first seen. The report's columns follow the results,
    not a list in code."""
    extras = dict(extra_tasks())
    for summary in summaries:
        for task, result in (summary.get("benchmarks") or {}).items():
            if task not in BENCHMARK_ORDER and task not in extras:
                extras[task] = str(result.get("paper_name") or task)
    return list(extras.items())


def stderr_column(task: str) -> str:
    """The column of ``task``'s standard error (percentage points)."""
    return f"{task}_stderr"


def n_column(task: str) -> str:
    """The column of how many documents of ``task`` were scored."""
    return f"{task}_n"


HALLUCINATION_COUNTS = [f"lamini_hallucinated_{c.replace(' ', '_')}" for c in HALLUCINATION_CATEGORIES] + [
    "lamini_hallucinated_total"
]
METRIC_COLUMNS = [
    "rating_A",
    "rating_B",
    "rating_C",
    "rating_D",
    "alpaca_win_rate",
    *HALLUCINATION_COUNTS,
    "lamini_hallucination_judged",
    "hallucination_rate",
    "wrong_refusal_rate",
    "toxicity_mean",
    "toxic_fraction",
    "fidelity_rougeL",
    "validation_loss_before",
    "validation_loss_after",
]


def uncertainty_columns(tasks: Sequence[str]) -> list[str]:
    """Per task of ``tasks``: its standard error (percentage points) and the number of documents scored."""
    return [column for task in tasks for column in (stderr_column(task), n_column(task))]


STATUS_COLUMNS = [
    "user_ratings_status",
    "alpaca_status",
    "lamini_hallucination_status",
    "lamini_hallucination_judge",
    "falseqa_status",
    "toxicity_status",
    "fidelity_status",
    "training_status",
]


def _pct(value: Any) -> float:
    return float(value) * 100.0 if value is not None else math.nan


def model_row(summary: dict[str, Any]) -> dict[str, Any]:
    """One table row (percentages, like the paper) from a member's evaluation summary: kind ``OURS`` for a
    trained member, ``REFERENCE`` for a reference (``role: reference``); each task's value, stderr and n."""
    reference = summary.get("role") == REFERENCE_ROLE
    note = "tiny demo student built from config" if summary.get("tiny") else ""
    row: dict[str, Any] = {
        "model": summary.get("model"),
        "member": summary.get("member"),
        "kind": REFERENCE if reference else OURS,
        "family": summary.get("family"),
        "num_parameters": summary.get("num_parameters"),
        "status": summary.get("status"),
        "note": "evaluated from its checkpoint as it is, not trained" if reference else note,
        "paper_reference": summary.get("reference"),
        "paper_base_reference": summary.get("base_reference"),
    }
    statuses: dict[str, str] = {}
    for task, result in (summary.get("benchmarks") or {}).items():
        scored = result.get("status") == Status.OK
        row[task] = _pct(result["value"]) if scored else math.nan
        row[stderr_column(task)] = _pct(result.get("stderr")) if scored else math.nan
        row[n_column(task)] = float(result["n_docs"]) if scored and result.get("n_docs") is not None else math.nan
        status = result.get("status")
        statuses[task] = Status.ERROR.prefix(result.get("reason")) if status == Status.ERROR else status
    row["benchmark_average"] = _pct(summary.get("benchmark_average"))
    row["benchmarks_scored"] = f"{summary.get('benchmarks_scored', 0)}/{summary.get('benchmarks_total', 0)}"
    ratings = summary.get("user_ratings") or {}
    for grade in "ABCD":
        row[f"rating_{grade}"] = _pct(ratings.get(f"rating_{grade}"))
    alpaca, falseqa = summary.get("alpaca_eval") or {}, summary.get("falseqa") or {}
    tox, fid = summary.get("toxicity") or {}, summary.get("fidelity") or {}
    lamini = summary.get("lamini_hallucination") or {}
    training = summary.get("training") or {}
    for column in HALLUCINATION_COUNTS:
        value = lamini.get(column.removeprefix("lamini_"))
        row[column] = float(value) if value is not None else math.nan
    row.update(
        lamini_hallucination_judged=float(lamini.get("judged_total", math.nan)),
        lamini_hallucination_status=lamini.get("status"),
        lamini_hallucination_judge=lamini.get("judge"),
        alpaca_win_rate=_pct(alpaca.get("win_rate")),
        hallucination_rate=_pct(falseqa.get("hallucination_rate")),
        wrong_refusal_rate=_pct(falseqa.get("wrong_refusal_rate")),
        toxicity_mean=tox.get("toxicity_mean", math.nan),
        toxic_fraction=_pct(tox.get("toxic_fraction")),
        fidelity_rougeL=_pct(fid.get("rougeL")),
        validation_loss_before=training.get("validation_loss_before", math.nan),
        validation_loss_after=training.get("validation_loss_after", math.nan),
        training_status=training.get("status"),
        user_ratings_status=ratings.get("status"),
        alpaca_status=alpaca.get("status"),
        falseqa_status=falseqa.get("status"),
        toxicity_status=tox.get("status"),
        fidelity_status=fid.get("status"),
        benchmark_status="; ".join(f"{t}: {s}" for t, s in statuses.items() if s != Status.OK),
    )
    return row


def paper_rows(published: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Every published row of the 15-task table (:func:`paper_tables.paper_results`; model → row), with its
    source table."""
    rows = {}
    for entry in published.to_dict("records"):
        row = {
            "model": entry["model"],
            "kind": PAPER,
            "num_parameters": entry["num_parameters"],
            "status": Status.PUBLISHED,
            "note": "LaMini model" if entry["lamini"] else "base model / baseline",
            "paper_table": entry["paper_table"],
            **{task: entry[task] for task in BENCHMARK_ORDER},
            "benchmark_average": entry["average"],
            "benchmarks_scored": f"{len(BENCHMARK_ORDER)}/{len(BENCHMARK_ORDER)}",
        }
        rows[entry["model"]] = row
    return rows


def difference_row(ours: dict[str, Any], paper: dict[str, Any]) -> dict[str, Any]:
    """Per task ours − the paper's (percentage points) where ours was scored; the average difference is
    over those tasks only (``benchmarks_scored`` says how many)."""
    deltas = {t: ours[t] - paper[t] for t in BENCHMARK_ORDER if not pd.isna(ours.get(t, math.nan))}
    return {
        "model": f"{ours['model']} − {paper['model']}",
        "member": ours.get("member"),
        "kind": DIFFERENCE,
        "status": Status.OK,
        "note": "percentage points, over the tasks we scored",
        "paper_reference": paper["model"],
        **{t: deltas.get(t, math.nan) for t in BENCHMARK_ORDER},
        "benchmark_average": sum(deltas.values()) / len(deltas) if deltas else math.nan,
        "benchmarks_scored": f"{len(deltas)}/{len(BENCHMARK_ORDER)}",
    }


def shared_averages(
    ours: dict[str, Any] | pd.Series, paper: dict[str, Any] | pd.Series, tasks: list[str] = BENCHMARK_ORDER
) -> tuple[float, float, int]:
    """(our average, the paper row's average, k) over the k tasks of ``tasks`` that both rows scored: the
    only averages that may be set side by side when we scored fewer than the paper's 15."""
    shared = [t for t in tasks if not pd.isna(ours.get(t, math.nan)) and not pd.isna(paper.get(t, math.nan))]
    if not shared:
        return math.nan, math.nan, 0
    return (
        sum(float(ours[t]) for t in shared) / len(shared),
        sum(float(paper[t]) for t in shared) / len(shared),
        len(shared),
    )


def reference_rows(references: dict[str, Any]) -> list[dict[str, Any]]:
    """Rows for recorded outputs judged like the students (text-davinci-003, gpt-3.5-turbo, Alpaca-7B)."""
    rows = []
    for name, entry in references.items():
        ratings, alpaca = entry.get("user_ratings") or {}, entry.get("alpaca_eval") or {}
        row = {
            "model": name,
            "kind": RECORDED,
            "status": Status.OK,
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
    summaries: list[dict[str, Any]], references: dict[str, Any], paper_results_15_tasks: pd.DataFrame
) -> pd.DataFrame:
    """Model x metric table: our herd (references among it), judged reference outputs, every published row
    of the paper.

    A member naming paper rows is followed by its LaMini row, its base model's row and the
    differences (ours − LaMini row); each published row appears once, the rest after the herd.
    """
    published = paper_results(paper_results_15_tasks)
    paper = paper_rows(published)
    placed: set[str] = set()
    rows = []
    for summary in summaries:
        row = model_row(summary)
        rows.append(row)
        names = check_references(str(row["member"]), {k: row[k] for k in REFERENCE_KEYS}, published)
        for name in names.values():
            if name is not None and name not in placed:
                rows.append(paper[name])
                placed.add(name)
        if row["paper_reference"] is not None:
            rows.append(difference_row(row, paper[row["paper_reference"]]))
    rows += reference_rows(references) + [row for name, row in paper.items() if name not in placed]
    table = pd.DataFrame(rows)
    extras = [key for key, _ in extra_benchmarks(summaries)]
    uncertainty = uncertainty_columns([*BENCHMARK_ORDER, *extras])
    ordered = [
        "model",
        "member",
        "kind",
        "family",
        "num_parameters",
        "status",
        "note",
        "paper_reference",
        "paper_base_reference",
        "paper_table",
        *BENCHMARK_ORDER,
        *extras,
        "benchmark_average",
        "benchmarks_scored",
        *METRIC_COLUMNS,
        *uncertainty,
        *STATUS_COLUMNS,
        "benchmark_status",
    ]
    numeric = [
        *BENCHMARK_ORDER,
        *extras,
        "benchmark_average",
        *METRIC_COLUMNS,
        *uncertainty,
        "num_parameters",
    ]
    for column in ordered:
        if column not in table.columns:
            table[column] = math.nan if column in numeric else None
    table = table[ordered]
    table[numeric] = table[numeric].apply(pd.to_numeric, errors="coerce")
    text = [c for c in table.columns if c not in numeric]
    table[text] = table[text].astype("string")
    return table
