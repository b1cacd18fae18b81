"""Existing instruction pools: loading them with line numbers, and normalising them to one schema.

Normalised schema: ``instruction`` (any input folded in with :func:`lamini_lm.prompting.fold_input`),
``instruction_source`` (``seed``, ``alpaca``, ``original_p3``, ``original_flan``) and ``source_id``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from lamini_lm.datasets.json_records import read_json_records
from lamini_lm.prompting import fold_input

logger = logging.getLogger(__name__)

NORMALISED_COLUMNS = ["instruction", "instruction_source", "source_id"]
_LOCATION = ["_file", "_line"]


class InstructionSourceDataset(AbstractDataset[None, "pd.DataFrame | None"]):
    """Read-only records of a JSON-lines / JSON-list file or a Hugging Face dataset, with locations.

    Each loaded row keeps ``_file`` and ``_line`` (the line the record starts on in the file; the
    record number for a hub dataset), so the normalising node can name the bad row. With neither
    ``filepath`` nor ``hf_dataset`` the source is *not configured*: ``load()`` returns None and the
    pipeline skips it with a log line. Malformed JSON fails here, naming the file and line.

    Example (catalog)::

        p3_prompts:
          type: lamini_lm.pipelines.instruction_generation.sources.InstructionSourceDataset
          filepath: data/01_raw/sources/p3/t0_train_sample.jsonl
    """

    def __init__(
        self,
        filepath: str | None = None,
        file_format: str = "auto",
        hf_dataset: dict[str, Any] | None = None,
        max_rows: int | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if file_format not in {"auto", "jsonl", "json"}:
            raise DatasetError(f"file_format must be 'auto', 'jsonl' or 'json', got {file_format!r}.")
        self._filepath = filepath
        self._format = file_format
        self._hf = hf_dataset
        self._max_rows = max_rows
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "hf_dataset": self._hf, "max_rows": self._max_rows}

    def load(self) -> pd.DataFrame | None:
        if self._filepath:
            records, where = read_json_records(self._filepath, self._format, self._max_rows)
            frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
            frame["_file"] = str(self._filepath)
            frame["_line"] = where
            return frame
        if self._hf:
            return _load_hub(self._hf, self._max_rows)
        return None

    def save(self, data: Any) -> None:
        raise DatasetError("InstructionSourceDataset is read-only: source pools are inputs.")

    def _exists(self) -> bool:
        return bool(self._hf) or bool(self._filepath and Path(self._filepath).exists())


def _load_hub(spec: dict[str, Any], max_rows: int | None) -> pd.DataFrame:
    """Rows of a Hugging Face dataset (``path``, optional ``name``, ``split``), numbered from 1."""
    import datasets  # imported here: slow, and only the paper environment reads from the hub

    split = spec.get("split", "train")
    if max_rows:
        split = f"{split}[:{max_rows}]"
    data = datasets.load_dataset(spec["path"], spec.get("name"), split=split)
    frame = data.to_pandas()
    frame["_file"] = f"hf://{spec['path']}" + (f"/{spec['name']}" if spec.get("name") else "")
    frame["_line"] = range(1, len(frame) + 1)
    return frame


def _require(frame: pd.DataFrame, columns: list[str], source: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        where = frame["_file"].iat[0] if len(frame) else "?"
        raise ValueError(
            f"Source {source!r} ({where}) lacks column(s) {missing}; found {sorted(set(frame) - set(_LOCATION))}."
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
        rows.append((fold_input(instruction, instances[0].get("input")), "seed", str(task_id)))
    return pd.DataFrame(rows, columns=NORMALISED_COLUMNS)


def _alpaca(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, ["instruction"], "alpaca")
    inputs = frame["input"] if "input" in frame else pd.Series([None] * len(frame))
    rows = [
        (
            fold_input(_text(instruction, frame, position, "instruction"), extra),
            "alpaca",
            f"alpaca/{position + 1}",
        )  # record number in Alpaca's JSON list
        for position, (instruction, extra) in enumerate(zip(frame["instruction"], inputs))
    ]
    return pd.DataFrame(rows, columns=NORMALISED_COLUMNS)


def _p3(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, ["template", "prompt"], "original_p3")
    rows = [
        (_text(prompt, frame, position, "prompt").strip(), "original_p3", f"{template}/{frame['_line'].iat[position]}")
        for position, (template, prompt) in enumerate(zip(frame["template"], frame["prompt"]))
    ]
    return pd.DataFrame(rows, columns=NORMALISED_COLUMNS)


def _flan(frame: pd.DataFrame) -> pd.DataFrame:
    _require(frame, ["inputs"], "original_flan")
    tasks = frame["task"] if "task" in frame else pd.Series(["flan"] * len(frame))
    rows = [
        (_text(inputs, frame, position, "inputs").strip(), "original_flan", f"{task}/{frame['_line'].iat[position]}")
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
        logger.warning("Instruction source %r is empty.", source)
        return pd.DataFrame(columns=NORMALISED_COLUMNS)
    return NORMALISERS[source](records)
