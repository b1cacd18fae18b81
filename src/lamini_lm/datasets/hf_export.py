"""``HFDatasetExport``: a Hugging Face dataset folder (``save_to_disk``, parquet per split, card)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from lamini_lm.datasets.atomic import atomic_directory_write

logger = logging.getLogger(__name__)


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

    The folder is written beside the old one and swapped in by renames
    (:func:`lamini_lm.datasets.atomic.atomic_directory_write`), so a failed export never leaves
    half a dataset. ``push_to_hub`` (``{repo_id, private}``; off unless set) uploads the dataset
    and its card after the local save. Loading gives the ``DatasetDict`` back.
    """

    def __init__(
        self,
        path: str,
        push_to_hub: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if push_to_hub and ("repo_id" not in push_to_hub or set(push_to_hub) - {"repo_id", "private"}):
            raise DatasetError(
                f"HFDatasetExport({path}): push_to_hub takes {{repo_id, private}}; got {sorted(push_to_hub)}."
            )
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
