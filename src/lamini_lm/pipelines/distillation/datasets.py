"""Catalog datasets of the distillation pipeline.

``DistilledRecordsDataset`` reads a published instruction/response set (a JSON list, JSON lines or
a Hugging Face dataset) so that every row remembers where it came from: the frame's index holds
the 1-based line number in the file (the row number for a hub dataset) and ``frame.attrs["source_file"]``
the file, so a bad row can be reported as ``file:line``.

``AtomicParquetDataset`` writes parquet through a temporary file and a rename.
``OptionalParquetDataset`` is such a parquet file that may not exist yet: loading it before anything
has been saved gives an empty frame with the declared columns. The assembled dataset reads the
teacher's cleaned answers through it, so ``lamini_dataset`` builds on a fresh clone from the
published sources alone and picks the teacher's answers up once a distillation run has saved them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
from kedro.io import AbstractDataset, DatasetError

from lamini_lm.datasets.atomic import atomic_directory_write, atomic_file_write
from lamini_lm.datasets.json_records import read_json_records

logger = logging.getLogger(__name__)


_ARROW_STRINGS = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}


def _read_json_lines_arrow(path: str) -> pd.DataFrame | None:
    """JSON lines through Arrow's C++ reader (millions of rows without a Python object per row).

    ``None`` when Arrow refuses the file (bad JSON, a field whose type changes, a non-object
    line): the line-by-line reader then finds and names the offending line.
    """
    try:
        table = pa_json.read_json(path)
    except pa.ArrowInvalid:
        return None
    with open(path, "rb") as handle:
        lines = np.fromiter((n for n, raw in enumerate(handle, start=1) if raw.strip()), dtype=np.int64)
    if len(lines) != table.num_rows:
        return None
    frame = table.to_pandas(types_mapper=_ARROW_STRINGS.get)
    frame.index = pd.Index(lines, name="line")
    frame.attrs["source_file"] = path
    return frame


class DistilledRecordsDataset(AbstractDataset[None, pd.DataFrame]):
    """A published distilled dataset as a frame indexed by source line.

    Give either ``filepath`` (``.json``: a list of records; ``.jsonl``: one record per line) or
    ``hf_path`` (+ ``hf_name``, ``split``, ``load_args``) for ``datasets.load_dataset``. Read-only.
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
        if path.endswith(".jsonl") and Path(path).exists():
            frame = _read_json_lines_arrow(path)
            if frame is not None:
                return frame
        records, lines = read_json_records(path)
        frame = pd.DataFrame.from_records(records, index=pd.Index(lines, name="line"))
        frame.attrs["source_file"] = path
        return frame

    def save(self, data: None) -> None:
        raise DatasetError("DistilledRecordsDataset is read-only.")

    def _exists(self) -> bool:
        return self._hf_path is not None or Path(self._filepath).exists()


class AtomicParquetDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A local parquet file written atomically (a temporary file in the same folder, then a rename).

    An interrupted save never leaves a half-written file where a good one was.
    """

    def __init__(
        self,
        filepath: str,
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._filepath = filepath
        self._save_args = {"index": False, **(save_args or {})}
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"filepath": self._filepath, "save_args": self._save_args}

    def load(self) -> pd.DataFrame:
        if not Path(self._filepath).exists():
            raise DatasetError(f"{self._filepath}: file not found.")
        return pd.read_parquet(self._filepath)

    def save(self, data: pd.DataFrame) -> None:
        atomic_file_write(Path(self._filepath), lambda tmp: data.to_parquet(tmp, **self._save_args))

    def _exists(self) -> bool:
        return Path(self._filepath).exists()


class OptionalParquetDataset(AtomicParquetDataset):
    """An atomic parquet file that loads as an empty frame with ``columns`` until it has been saved."""

    def __init__(
        self,
        filepath: str,
        columns: list[str],
        save_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(filepath, save_args=save_args, metadata=metadata)
        self._columns = list(columns)

    def _describe(self) -> dict[str, Any]:
        return {**super()._describe(), "columns": self._columns}

    def load(self) -> pd.DataFrame:
        if not Path(self._filepath).exists():
            logger.info("%s does not exist yet: loading it as an empty table.", self._filepath)
            return pd.DataFrame({column: pd.Series(dtype=object) for column in self._columns})
        return pd.read_parquet(self._filepath)


def _write_parquet(dataset: Any, path: Path) -> None:
    """A ``datasets.Dataset`` as one parquet file, straight from its Arrow table when it has no
    index mapping (no batch-wise conversion: at millions of rows that doubled the peak memory)."""
    import pyarrow.parquet as pq

    if dataset.num_rows == dataset.data.num_rows:
        pq.write_table(dataset.data.table, str(path))
    else:
        dataset.to_parquet(str(path))


class HFDatasetExport(AbstractDataset[dict[str, Any], Any]):
    """A Hugging Face dataset folder: ``save_to_disk`` output, parquet per split and a dataset card.

    Saves ``{"dataset": DatasetDict, "card": str}`` as::

        <path>/README.md              the dataset card
        <path>/hf/                    DatasetDict.save_to_disk (datasets.load_from_disk reads it)
        <path>/data/<split>.parquet   one parquet file per split (the hub's layout)

    The folder is written beside the old one and swapped in by renames, so a failed export never
    leaves half a dataset. ``push_to_hub`` (``{repo_id, private}``; off unless set) uploads the
    dataset and its card after the local save. Loading gives the ``DatasetDict`` back.
    """

    def __init__(
        self,
        path: str,
        push_to_hub: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._path = Path(path)
        self._push = push_to_hub or None
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "push_to_hub": self._push}

    def load(self) -> Any:
        import datasets

        if not (self._path / "hf").exists():
            raise DatasetError(f"{self._path}: no exported dataset here (missing 'hf/').")
        return datasets.load_from_disk(str(self._path / "hf"))

    def save(self, data: dict[str, Any]) -> None:
        dataset, card = data["dataset"], data["card"]

        def write(folder: Path) -> None:
            dataset.save_to_disk(str(folder / "hf"))
            (folder / "data").mkdir()
            for split, table in dataset.items():
                _write_parquet(table, folder / "data" / f"{split}.parquet")
            (folder / "README.md").write_text(card, encoding="utf-8")

        atomic_directory_write(self._path, write)
        if self._push:
            repo_id = self._push["repo_id"]
            logger.info("Pushing the dataset to the hub as %s.", repo_id)
            dataset.push_to_hub(repo_id, private=bool(self._push.get("private", True)))
            from huggingface_hub import HfApi

            HfApi().upload_file(
                path_or_fileobj=str(self._path / "README.md"),
                path_in_repo="README.md",
                repo_id=repo_id,
                repo_type="dataset",
            )

    def _exists(self) -> bool:
        return (self._path / "hf").exists()
