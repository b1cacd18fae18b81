"""Local parquet files written atomically: ``AtomicParquetDataset`` and ``OptionalParquetDataset``.

A save writes a temporary file in the target's folder and renames it over the target
(:func:`lamini_lm.datasets.atomic.atomic_file_write`), so an interrupted save never leaves a
half-written file where a good one was. ``OptionalParquetDataset`` is such a file that may not
exist yet: loading it before anything has been saved gives an empty frame with the declared
columns (the distillation pipeline reads the teacher's saved answers through it, so
``lamini_dataset`` builds on a fresh clone).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from lamini_lm.datasets.atomic import atomic_file_write

logger = logging.getLogger(__name__)


class AtomicParquetDataset(AbstractDataset[pd.DataFrame, pd.DataFrame]):
    """A local parquet file written atomically (a temporary file in the same folder, then a rename).

    Example (catalog)::

        lamini_dataset:
          type: lamini_lm.datasets.parquet.AtomicParquetDataset
          filepath: data/03_primary/lamini_dataset.parquet
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
