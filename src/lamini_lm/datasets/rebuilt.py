"""A dataset rebuilt on every run, even ``kedro run --only-missing-outputs``: herd-wide reports.

Kedro 1.7's ``--only-missing-outputs`` runs a node when one of its persistent outputs does not
``exists()`` (or when a running node needs one of its in-memory outputs). A report over the whole herd
exists after the first run, so a new member's results would never reach it. Wrapping the report's
dataset in :class:`RebuiltEachRunDataset` makes it always count as missing: the report node runs in
every run and reads every member's results, old and new. Loading and saving are the wrapped dataset's.
"""

from __future__ import annotations

from typing import Any

from kedro.io.core import AbstractDataset


class RebuiltEachRunDataset(AbstractDataset):
    """``dataset`` (a catalog entry, e.g. ``{type: pandas.ParquetDataset, filepath: ...}``), never "already made".

    Args:
        dataset: the wrapped dataset's config (or a dataset).
        metadata: kedro-viz layer and the like.
    """

    def __init__(self, *, dataset: dict[str, Any] | AbstractDataset, metadata: dict | None = None):
        self._dataset = (
            dataset if isinstance(dataset, AbstractDataset) else AbstractDataset.from_config("_wrapped", dataset)
        )
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"dataset": self._dataset._describe(), "rebuilt_each_run": True}

    def load(self) -> Any:
        return self._dataset.load()

    def save(self, data: Any) -> None:
        self._dataset.save(data)

    def _exists(self) -> bool:
        return False  # what --only-missing-outputs asks: always rebuilt (the wrapped data may well be on disk)

    def _release(self) -> None:
        self._dataset.release()
