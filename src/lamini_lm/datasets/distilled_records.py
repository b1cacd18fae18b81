"""``DistilledRecordsDataset``: a published instruction/response set, every row knowing its line.

Reads a JSON list, JSON lines or a Hugging Face dataset so that every row remembers where it came
from: the frame's index holds the 1-based line number in the file (the row number for a hub
dataset) and ``frame.attrs["source_file"]`` the file, so a bad row can be reported as ``file:line``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from lamini_lm.datasets.json_records import read_json_lines_frame, read_json_records


class DistilledRecordsDataset(AbstractDataset[None, pd.DataFrame]):
    """A published distilled dataset as a frame indexed by source line. Read-only.

    Give either ``filepath`` (``.json``: a list of records; ``.jsonl``: one record per line, read
    through Arrow) or ``hf_path`` (+ ``hf_name``, ``split``, ``load_args``) for
    ``datasets.load_dataset``.

    Example (catalog)::

        distillation_lamini_raw:
          type: lamini_lm.datasets.distilled_records.DistilledRecordsDataset
          filepath: data/01_raw/distilled/lamini/lamini_instruction_10k_fmengine.jsonl
    """

    def __init__(
        self,
        filepath: str | None = None,
        hf_path: str | None = None,
        hf_name: str | None = None,
        split: str = "train",
        load_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if (filepath is None) == (hf_path is None):
            raise DatasetError("DistilledRecordsDataset needs exactly one of 'filepath' or 'hf_path'.")
        self._filepath = filepath
        self._hf_path = hf_path
        self._hf_name = hf_name
        self._split = split
        self._load_args = dict(load_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        if self._filepath is not None:
            return {"filepath": self._filepath}
        return {"hf_path": self._hf_path, "hf_name": self._hf_name, "split": self._split}

    def load(self) -> pd.DataFrame:
        if self._hf_path is not None:
            import datasets  # slow import; only the paper environment reads from the hub

            table = datasets.load_dataset(self._hf_path, self._hf_name, split=self._split, **self._load_args)
            frame = table.to_pandas()
            frame.index = pd.RangeIndex(1, len(frame) + 1, name="line")
            frame.attrs["source_file"] = f"hf://{self._hf_path}[{self._split}]"
            return frame
        path = self._filepath
        frame = read_json_lines_frame(path) if path.endswith(".jsonl") and Path(path).exists() else None
        if frame is None:
            records, lines = read_json_records(path)
            frame = pd.DataFrame.from_records(records, index=pd.Index(lines, name="line"))
        frame.attrs["source_file"] = path
        return frame

    def save(self, data: None) -> None:
        raise DatasetError("DistilledRecordsDataset is read-only.")

    def _exists(self) -> bool:
        return self._hf_path is not None or Path(self._filepath).exists()
