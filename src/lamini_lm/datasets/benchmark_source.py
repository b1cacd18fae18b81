"""A read-only catalog dataset for one benchmark's raw records (``benchmark_raw_<data>``).

The evaluation pipeline normalises the records into the schema its task YAML reads
(``lamini_lm.pipelines.evaluation.normalisers``). A file that cannot be read (a malformed line, a
byte that is not in its encoding, no records, labels that do not match) does not stop the run: it
loads as ``{"records": None, "error": "<file>, line <n>: ..."}`` and that benchmark is reported as
failed for every herd member while the other benchmarks are scored.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from lamini_lm.datasets.json_records import read_json_records, read_text


class BenchmarkSourceDataset(AbstractDataset[None, dict[str, Any]]):
    """Read-only catalog dataset for one benchmark's raw records.

    ``file_format``: ``jsonl``, ``tsv``, ``csv``, ``lines`` (one ``{"line": ...}`` per line) or
    ``hf`` (``datasets.load_dataset(path, name, split=split)``, for ``conf/paper``). ``labels_filepath``
    adds a ``label`` per record from a one-label-per-line file (PIQA). ``no_data`` (a reason string)
    declares a benchmark with no copy in this environment: it loads as ``{"records": None, "reason": ...}``
    and is reported as "no data", never scored. A file that is there but unreadable loads as
    ``{"records": None, "error": ...}`` (the message names the file and line).
    """

    def __init__(
        self,
        filepath: str | None = None,
        file_format: str = "jsonl",
        labels_filepath: str | None = None,
        encoding: str = "utf-8",
        hf: dict[str, Any] | None = None,
        no_data: str | None = None,
        metadata: dict[str, Any] | None = None,
    ):
        self._filepath = filepath
        self._format = file_format
        self._labels = labels_filepath
        self._encoding = encoding
        self._hf = hf or {}
        self._no_data = no_data
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "file_format": self._format, "hf": self._hf, "no_data": self._no_data}

    def _save(self, data: None) -> None:
        raise DatasetError("BenchmarkSourceDataset is read-only.")

    def _exists(self) -> bool:
        return self._no_data is None and (self._format == "hf" or Path(str(self._filepath)).exists())

    def _load(self) -> dict[str, Any]:
        if self._no_data is not None:
            return {"records": None, "source": None, "reason": self._no_data, "error": None}
        if self._format == "hf":
            import datasets

            split = datasets.load_dataset(self._hf["path"], self._hf.get("name"), split=self._hf["split"])
            source = f"hf:{self._hf['path']}/{self._hf.get('name') or ''}:{self._hf['split']}"
            return {"records": [dict(row) for row in split], "source": source, "reason": None, "error": None}
        path = Path(str(self._filepath))
        if not path.exists():
            raise DatasetError(f"Benchmark file {path} does not exist (see data/01_raw/SOURCES.md).")
        try:
            records = self._read(path)
            return self._with_labels(records, path)
        except DatasetError as err:
            return {"records": None, "source": str(path), "reason": None, "error": str(err)}

    def _read(self, path: Path) -> list[dict[str, Any]]:
        if self._format == "jsonl":
            records, _ = read_json_records(path, file_format="jsonl")
            return records
        text = read_text(path, self._encoding)
        if self._format in ("tsv", "csv"):
            reader = (
                csv.DictReader(text.splitlines(), delimiter="\t", quoting=csv.QUOTE_NONE)
                if self._format == "tsv"
                else csv.DictReader(text.splitlines(keepends=True))
            )
            records = [dict(row) for row in reader]
        elif self._format == "lines":
            records = [{"line": line} for line in text.splitlines()]
        else:
            raise ValueError(f"{path}: unknown file_format {self._format!r} (jsonl, tsv, csv, lines, hf).")
        if not records:
            raise DatasetError(f"{path}: holds no records. Restore the file (see data/01_raw/SOURCES.md).")
        return records

    def _with_labels(self, records: list[dict[str, Any]], path: Path) -> dict[str, Any]:
        """``records`` with a ``label`` each from ``labels_filepath`` (PIQA), as the dataset's load result."""
        if self._labels:
            labels = [line.strip() for line in read_text(self._labels, self._encoding).splitlines() if line.strip()]
            if len(labels) != len(records):
                raise DatasetError(f"{self._labels} has {len(labels)} labels but {path} has {len(records)} records.")
            for record, label in zip(records, labels):
                record["label"] = label
        return {"records": records, "source": str(path), "reason": None, "error": None}
