"""``HFDatasetExport``: a Hugging Face dataset folder (``save_to_disk``, parquet per split, card)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lamini_lm.datasets.atomic import atomic_directory_write

logger = logging.getLogger(__name__)


class HubTarget(BaseModel):
    """Where ``push_to_hub`` uploads the export: a dataset repository, private unless said otherwise."""

    model_config = ConfigDict(extra="forbid")

    repo_id: str = Field(description="The hub dataset repository, e.g. you/lamini-dataset.")
    private: bool = Field(True, description="Create the repository private.")


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

    Saves ``{"dataset": DatasetDict, "card": huggingface_hub.DatasetCard}`` as::

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
        try:
            self._push = HubTarget.model_validate(push_to_hub) if push_to_hub else None
        except ValidationError as exc:
            raise DatasetError(
                f"HFDatasetExport({path}): push_to_hub takes {{repo_id, private}}; got {push_to_hub!r} ({exc})."
            ) from None
        self._path = Path(path)
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path), "push_to_hub": self._push.model_dump() if self._push else None}

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
            card.save(folder / "README.md")

        atomic_directory_write(self._path, write)
        if self._push:
            repo_id = self._push.repo_id
            logger.info("Pushing the dataset to the hub as %s.", repo_id)
            dataset.push_to_hub(repo_id, private=self._push.private)
            card.push_to_hub(repo_id, repo_type="dataset")

    def _exists(self) -> bool:
        return (self._path / "hf").exists()
