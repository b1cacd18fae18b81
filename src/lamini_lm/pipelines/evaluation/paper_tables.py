"""The paper's published tables as data: every 15-task row (EACL Tables 9–14) and Table 5's hallucination
counts, read from the catalog (``paper_results_15_tasks``, ``paper_hallucination_counts``).

A herd member names its rows in ``parameters_training.yml`` (``paper_reference``: its LaMini model;
``paper_base_reference``: the base model it was distilled from); :func:`check_references` refuses a
name the table does not hold, naming the member and the key.
"""

from __future__ import annotations

import difflib
import re

import pandas as pd

from lamini_lm.herd import ModelSpec

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
RESULTS_FILE = "data/01_raw/paper/results_15_tasks.csv"
RESULTS_COLUMNS = ["model", "lamini", "params", "paper_table", *BENCHMARK_ORDER, "average"]
HALLUCINATION_CATEGORIES = ["did not happen", "far future", "nonsense", "obscure"]
HALLUCINATION_COLUMNS = ["model", "total", *(c.replace(" ", "_") for c in HALLUCINATION_CATEGORIES), "paper_table"]
REFERENCE_KEYS = ("paper_reference", "paper_base_reference")
_PARAMS = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMB])\s*$", re.IGNORECASE)
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9}


def parse_params(text: object) -> float:
    """A parameter count as the paper prints it (``61M``, ``1.3B``) → a number (61e6, 1.3e9)."""
    match = _PARAMS.match(str(text))
    if not match:
        raise ValueError(f"parameter count {text!r} is not a number followed by K, M or B (e.g. 61M, 1.3B)")
    return float(match.group(1)) * _SCALE[match.group(2).upper()]


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {missing}; expected {columns}.")


def paper_results(frame: pd.DataFrame) -> pd.DataFrame:
    """The 15-task table, checked: one row per ``model``, numbers where numbers belong, ``num_parameters`` parsed."""
    _require(frame, RESULTS_COLUMNS, RESULTS_FILE)
    duplicated = frame["model"][frame["model"].duplicated()].tolist()
    if duplicated:
        raise ValueError(f"{RESULTS_FILE}: model(s) {duplicated} appear more than once.")
    out = frame[RESULTS_COLUMNS].copy()
    for column in [*BENCHMARK_ORDER, "average"]:
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() & out[column].notna()
        if bad.any():
            row = bad.idxmax()
            raise ValueError(f"{RESULTS_FILE}, row {row} ({out['model'][row]}): {column}={out[column][row]!r}.")
        out[column] = values.astype(float)
    num = []
    for row, text in out["params"].items():
        try:
            num.append(parse_params(text))
        except ValueError as err:
            raise ValueError(f"{RESULTS_FILE}, row {row} ({out['model'][row]}): {err}.") from None
    out["lamini"] = out["lamini"].astype(str).str.lower().eq("true")
    return out.assign(num_parameters=num).reset_index(drop=True)


def hallucination_counts_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Table 5: hallucinated answers per category (of 10) and in total (of 40), per model."""
    _require(frame, HALLUCINATION_COLUMNS, "data/01_raw/paper/hallucination_counts.csv")
    return frame[HALLUCINATION_COLUMNS].reset_index(drop=True)


def check_references(member: str, names: dict[str, str | None], results: pd.DataFrame) -> dict[str, str | None]:
    """``names`` (``paper_reference`` / ``paper_base_reference`` → a ``model`` of the 15-task table, or None)
    of herd member ``member``, checked: a name the table does not hold is an error naming the member and key."""
    known = results["model"].astype(str).tolist()
    for key, name in names.items():
        if name is not None and name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (it holds {len(known)} rows)"
            raise ValueError(
                f"Herd member '{member}': {key} {name!r} (key 'models.{member}.{key}') is not a `model` of "
                f"{RESULTS_FILE}{hint}"
            )
    return names


def spec_references(model_spec: ModelSpec) -> dict[str, str | None]:
    """The paper rows a herd entry names: ``{"paper_reference": ..., "paper_base_reference": ...}``."""
    return {key: getattr(model_spec, key) for key in REFERENCE_KEYS}
