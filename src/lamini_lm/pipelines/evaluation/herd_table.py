"""The herd table: one row per model (ours, judged reference outputs, the paper's published rows),
one column per metric, in percentages like the paper."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.outcome import Status
from lamini_lm.pipelines.evaluation.params import PaperReference

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
        row[task] = _pct(result["value"]) if result.get("status") == Status.OK else math.nan
        status = result.get("status")
        statuses[task] = Status.ERROR.prefix(result.get("reason")) if status == Status.ERROR else status
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
        benchmark_status="; ".join(f"{t}: {s}" for t, s in statuses.items() if s != Status.OK),
    )
    return row


def paper_rows(paper_reference: PaperReference) -> list[dict[str, Any]]:
    """Reference rows from the published LaMini-LM numbers (parameters file; missing values stay empty)."""
    rows = []
    for name, entry in paper_reference.models.items():
        row = {
            "model": name,
            "kind": "paper (published)",
            "family": entry.family,
            "num_parameters": entry.num_parameters,
            "status": Status.PUBLISHED,
            "note": entry.note,
        }
        for task in BENCHMARK_ORDER:
            value = entry.benchmarks.get(task)
            row[task] = float(value) if value is not None else math.nan
        row["benchmark_average"] = float(entry.average) if entry.average is not None else math.nan
        scored = sum(v is not None for v in entry.benchmarks.values())
        row["benchmarks_scored"] = f"{scored}/{len(BENCHMARK_ORDER)}"
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
    summaries: list[dict[str, Any]], references: dict[str, Any], paper_reference: PaperReference
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
