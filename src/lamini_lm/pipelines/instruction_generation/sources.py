"""Existing instruction pools, normalised to one schema.

The records come from ``lamini_lm.datasets.instruction_source.InstructionSourceDataset``, each with
its ``_file`` and ``_line``, so a bad row is named. Normalised schema: ``instruction`` (any input
folded in with :func:`lamini_lm.prompting.fold_input`), ``instruction_source`` (``seed``,
``alpaca``, ``original_p3``, ``original_flan``), ``source_id`` and ``subset`` (the P3 template or the
FLAN task a row comes from, which example-guided P3/FLAN prompts draw their examples from; None for
seeds and Alpaca).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from lamini_lm.datasets.instruction_source import LOCATION_COLUMNS
from lamini_lm.prompting import fold_input

logger = logging.getLogger(__name__)

NORMALISED_COLUMNS = ["instruction", "instruction_source", "source_id", "subset"]


def _require(frame: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        where = frame["_file"].iat[0] if len(frame) else "?"
        raise ValueError(
            f"Source {source!r} ({where}) lacks column(s) {missing}; found {sorted(set(frame) - set(LOCATION_COLUMNS))}."
        )


def _text(value: Any, frame: pd.DataFrame, position: int, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(
            f"{frame['_file'].iat[position]}, line {frame['_line'].iat[position]}: "
            f"field {field!r} must be a non-empty string, got {value!r}."
        )
    return value


def _seed(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, ["id", "instruction", "instances"], "seed")
    rows = []
    for position, (task_id, instruction, instances) in enumerate(
        zip(frame["id"], frame["instruction"], frame["instances"])
    ):
        _text(instruction, frame, position, "instruction")
        if not isinstance(instances, list) or not instances or not isinstance(instances[0], dict):
            raise ValueError(
                f"{frame['_file'].iat[position]}, line {frame['_line'].iat[position]}: field "
                f"'instances' must be a non-empty list of {{input, output}} objects."
            )
        rows.append((fold_input(instruction, instances[0].get("input")), "seed", str(task_id), None))
    return pd.DataFrame(rows, columns=NORMALISED_COLUMNS)


def _alpaca(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, ["instruction"], "alpaca")
    inputs = frame["input"] if "input" in frame else pd.Series([None] * len(frame))
    rows = [
        (
            fold_input(_text(instruction, frame, position, "instruction"), extra),
            "alpaca",
            f"alpaca/{position + 1}",  # record number in Alpaca's JSON list
            None,
        )
        for position, (instruction, extra) in enumerate(zip(frame["instruction"], inputs))
    ]
    return pd.DataFrame(rows, columns=NORMALISED_COLUMNS)


def _p3(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, ["template", "prompt"], "original_p3")
    rows = [
        (
            _text(prompt, frame, position, "prompt").strip(),
            "original_p3",
            f"{template}/{frame['_line'].iat[position]}",
            str(template),
        )
        for position, (template, prompt) in enumerate(zip(frame["template"], frame["prompt"]))
    ]
    return pd.DataFrame(rows, columns=NORMALISED_COLUMNS)


def _flan(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, ["inputs"], "original_flan")
    tasks = frame["task"] if "task" in frame else pd.Series(["flan"] * len(frame))
    rows = [
        (
            _text(inputs, frame, position, "inputs").strip(),
            "original_flan",
            f"{task}/{frame['_line'].iat[position]}",
            str(task),
        )
        for position, (task, inputs) in enumerate(zip(tasks, frame["inputs"]))
    ]
    return pd.DataFrame(rows, columns=NORMALISED_COLUMNS)


NORMALISERS = {"seed": _seed, "alpaca": _alpaca, "original_p3": _p3, "original_flan": _flan}


def normalise_source(records: pd.DataFrame | None, source: str) -> pd.DataFrame:
    """One source's records in the normalised schema; an unconfigured (None) source is empty."""
    if records is None:
        logger.info("Instruction source %r is not configured in this environment: skipped.", source)
        return pd.DataFrame(columns=NORMALISED_COLUMNS)
    if len(records) == 0:
        # Only a source marked ``optional: true`` in its catalog entry loads empty; any other fails to load.
        where = records.attrs.get("source_file", "?")
        logger.warning("Instruction source %r (%s) is empty; it is marked optional, so it adds no rows.", source, where)
        return pd.DataFrame(columns=NORMALISED_COLUMNS)
    return NORMALISERS[source](records)
