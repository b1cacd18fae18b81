"""``InstructionSourceDataset``: an existing instruction pool's records, each with its file and line.

Read-only records of a JSON-lines / JSON-list file (through
:func:`lamini_lm.datasets.json_records.read_json_records`) or of a Hugging Face dataset. Each row
keeps ``_file`` and ``_line`` (:data:`LOCATION_COLUMNS`: the line the record starts on in the file;
the record number for a hub dataset), so the node that normalises the pool can name a bad row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lamini_lm.datasets.json_records import read_json_records

LOCATION_COLUMNS = ["_file", "_line"]


class HubSource(BaseModel):
    """A Hugging Face dataset read with ``datasets.load_dataset(path, name, split=split)``."""

    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="The hub dataset, e.g. tatsu-lab/alpaca.")
    name: str | None = Field(None, description="Its configuration name, if it has several.")
    split: str = Field("train", description="The split to read.")


class InstructionSourceDataset(AbstractDataset[None, "pd.DataFrame | None"]):
    """Records of a source pool with their locations; ``None`` when the source is not configured.

    With neither ``filepath`` nor ``hf_dataset`` (``{path, name, split}``) the source is *not
    configured*: ``load()`` returns None and the pipeline skips it with a log line. Malformed JSON
    or a byte that is not UTF-8 fails here, naming the file and line. A configured source with no
    records (an empty file, ``[]``, an empty hub split) fails too, naming the file, unless the entry
    says ``optional: true`` (then it loads as an empty frame and the pipeline logs it). ``max_rows``
    keeps the first records only.

    Example (catalog)::

        ig_p3:
          type: lamini_lm.datasets.instruction_source.InstructionSourceDataset
          filepath: data/01_raw/sources/p3/t0_train_sample.jsonl
    """

    def __init__(
        self,
        filepath: str | None = None,
        file_format: str = "auto",
        hf_dataset: dict[str, Any] | None = None,
        max_rows: int | None = None,
        optional: bool = False,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if file_format not in {"auto", "jsonl", "json"}:
            raise DatasetError(f"file_format must be 'auto', 'jsonl' or 'json', got {file_format!r}.")
        try:
            self._hf = HubSource.model_validate(hf_dataset) if hf_dataset else None
        except ValidationError as exc:
            raise DatasetError(f"InstructionSourceDataset: bad 'hf_dataset' {hf_dataset!r}: {exc}") from None
        self._filepath = filepath
        self._format = file_format
        self._max_rows = max_rows
        self._optional = optional
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": self._filepath,
            "hf_dataset": self._hf.model_dump() if self._hf else None,
            "max_rows": self._max_rows,
            "optional": self._optional,
        }

    def load(self) -> pd.DataFrame | None:
        if self._filepath:
            records, where = read_json_records(self._filepath, self._format, self._max_rows, self._optional)
            frame = pd.DataFrame.from_records(records) if records else pd.DataFrame()
            frame["_file"] = str(self._filepath)
            frame["_line"] = where
            frame.attrs["source_file"] = str(self._filepath)
            return frame
        if self._hf:
            frame = _load_hub(self._hf, self._max_rows)
            if frame.empty and not self._optional and self._max_rows != 0:
                raise DatasetError(
                    f"{frame.attrs['source_file']}: the hub split {self._hf.split!r} holds no records. "
                    "Point the catalog entry at a split with records, or mark the source 'optional: true'."
                )
            return frame
        return None

    def save(self, data: Any) -> None:
        raise DatasetError("InstructionSourceDataset is read-only: source pools are inputs.")

    def _exists(self) -> bool:
        return bool(self._hf) or bool(self._filepath and Path(self._filepath).exists())


def _load_hub(source: HubSource, max_rows: int | None) -> pd.DataFrame:
    """Rows of a Hugging Face dataset, numbered from 1."""
    import datasets  # imported here: slow, and only the paper environment reads from the hub

    split = f"{source.split}[:{max_rows}]" if max_rows else source.split
    data = datasets.load_dataset(source.path, source.name, split=split)
    frame = data.to_pandas()
    frame["_file"] = f"hf://{source.path}" + (f"/{source.name}" if source.name else "")
    frame["_line"] = range(1, len(frame) + 1)
    frame.attrs["source_file"] = f"hf://{source.path}" + (f"/{source.name}" if source.name else "")
    return frame
