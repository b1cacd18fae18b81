"""The herd's toxicity beside the paper's Table 6 (EACL 2024): a table and its markdown.

Per member, our counts of toxic outputs from the non-toxic and from the toxic prompts (count, n and
per 1K — the paper's unit, scaled when fewer prompts were available), with the classifier named;
under it the paper's rows for the member's LaMini model and its base model (``paper_reference`` /
``paper_base_reference`` of the member's :class:`~lamini_lm.herd.ModelSpec`, names as in
data/01_raw/paper/toxicity_counts.csv), then every other row of Table 6. The paper classified with
the OpenAI Moderation API, 1K prompts per group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.outcome import Status
from lamini_lm.pipelines.evaluation.params import ToxicityParams
from lamini_lm.pipelines.evaluation.toxicity import GROUPS, PAPER_CLASSIFIER
from lamini_lm.reporting import dataframe_markdown

PAPER_COLUMNS = {
    "nontoxic": "toxic_outputs_from_1k_nontoxic_prompts",
    "toxic": "toxic_outputs_from_1k_toxic_prompts",
}
PAPER_PROMPTS = 1000
OURS, PAPER_LAMINI, PAPER_BASE, PAPER_OTHER = "ours", "paper: LaMini model", "paper: base model", "paper: Table 6"
NOT_IN_TABLE_6 = "not in the paper's Table 6"
TABLE_COLUMNS = [
    "member",
    "kind",
    "model",
    "classifier",
    *[f"{part}_{group}" for group in GROUPS for part in ("toxic_outputs", "n", "per_1k")],
    "status",
    "source",
]


def _paper_rows(paper_counts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    missing = [c for c in ("model", *PAPER_COLUMNS.values(), "paper_table") if c not in paper_counts.columns]
    if missing:
        raise ValueError(f"paper_toxicity_counts (data/01_raw/paper/toxicity_counts.csv): missing column(s) {missing}.")
    return {str(row["model"]): row for row in paper_counts.to_dict("records")}


def _paper_row(member: str | None, kind: str, name: str, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    row = rows.get(name)
    out: dict[str, Any] = {"member": member, "kind": kind, "model": name, "classifier": PAPER_CLASSIFIER}
    for group, column in PAPER_COLUMNS.items():
        count = None if row is None else int(row[column])
        out |= {
            f"toxic_outputs_{group}": count,
            f"n_{group}": None if row is None else PAPER_PROMPTS,
            f"per_1k_{group}": None if row is None else float(count),
        }
    if row is None:
        return out | {"status": NOT_IN_TABLE_6, "source": None}
    return out | {"status": Status.PUBLISHED.value, "source": str(row["paper_table"])}


def _our_row(member: str, counts: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"member": member, "kind": OURS, "model": member, "classifier": counts.get("classifier")}
    groups = counts.get("groups") or {}
    for group in GROUPS:
        measured = groups.get(group) or {}
        out |= {f"{part}_{group}": measured.get(part) for part in ("toxic_outputs", "n", "per_1k")}
    return out | {"status": counts.get("status"), "source": "this run"}


def toxicity_table(paper_counts: pd.DataFrame, *member_counts: dict[str, Any], members: Sequence[str]) -> pd.DataFrame:
    """Ours beside the paper's Table 6: per member (in herd order) our row, then its LaMini model's and base
    model's published rows; then every Table 6 row no member names. Columns :data:`TABLE_COLUMNS`."""
    if len(member_counts) != len(members):
        raise ValueError(f"toxicity_table: {len(members)} members but {len(member_counts)} toxicity counts.")
    rows = _paper_rows(paper_counts)
    table, named = [], set()
    for member, counts in zip(members, member_counts):
        table.append(_our_row(member, counts))
        for kind, key in ((PAPER_LAMINI, "paper_reference"), (PAPER_BASE, "paper_base_reference")):
            if counts.get(key):
                table.append(_paper_row(member, kind, counts[key], rows))
                named.add(counts[key])
    table += [_paper_row(None, PAPER_OTHER, name, rows) for name in rows if name not in named]
    frame = pd.DataFrame(table, columns=TABLE_COLUMNS)
    for group in GROUPS:
        for part in ("toxic_outputs", "n"):
            frame[f"{part}_{group}"] = frame[f"{part}_{group}"].astype("Int64")
        frame[f"per_1k_{group}"] = frame[f"per_1k_{group}"].astype(float)
    return frame


def _count(row: pd.Series, group: str) -> str:
    count, n = row[f"toxic_outputs_{group}"], row[f"n_{group}"]
    if pd.isna(count):
        return str(row["status"])
    return f"{int(count)} of {int(n)}"


def _per_1k(row: pd.Series, group: str) -> str:
    value = row[f"per_1k_{group}"]
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.1f}"


def toxicity_markdown(table: pd.DataFrame, prompts: pd.DataFrame, toxicity: ToxicityParams) -> str:
    """The toxicity section of the herd report: how it was measured (``prompts``: the drawn prompt groups,
    ``toxicity_prompts``), then the table; a cell with no number says why."""
    drawn = {g: int((prompts["prompt_group"] == g).sum()) for g in GROUPS}
    available = {g: prompts.loc[prompts["prompt_group"] == g, "available"] for g in GROUPS}
    met = {g: int(available[g].iloc[0]) if len(available[g]) else 0 for g in GROUPS}
    lines = [
        "## Toxicity (RealToxicityPrompts, as in the paper's Table 6)",
        "",
        f"Each member answered {drawn['nontoxic']} non-toxic prompts (prompt toxicity < "
        f"{toxicity.nontoxic_prompt_below}; {met['nontoxic']} in the pool meet it) and {drawn['toxic']} toxic "
        f"prompts (> {toxicity.toxic_prompt_above}; {met['toxic']} meet it), drawn at random (seed {toxicity.seed}; "
        f'the paper: 1K each), each asked as "{toxicity.prefix} <prompt>". An output counts as toxic when the '
        f"classifier says so (`toxic_label: {toxicity.toxic_label}`). Per 1K = toxic outputs × 1000 / n, the "
        f"paper's unit. The paper's rows: {PAPER_CLASSIFIER}, 1K prompts per group (EACL 2024 Table 6; lower is "
        "better).",
        "",
    ]
    header = ["member", "row", "model", "classifier"]
    header += ["toxic outputs, non-toxic prompts", "per 1K", "toxic outputs, toxic prompts", "per 1K"]
    body = []
    for _, row in table.iterrows():
        body.append(
            [
                row["member"] if isinstance(row["member"], str) else "",
                row["kind"],
                row["model"],
                row["classifier"] if isinstance(row["classifier"], str) else "—",
                _count(row, "nontoxic"),
                _per_1k(row, "nontoxic"),
                _count(row, "toxic"),
                _per_1k(row, "toxic"),
            ]
        )
    lines.append(dataframe_markdown(header, body))
    return "\n".join(lines) + "\n"
