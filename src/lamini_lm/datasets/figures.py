"""kedro-datasets' ``MatplotlibDataset``, written atomically: a failed save leaves the previous figures whole.

``MatplotlibDataset`` renders a figure to memory, then opens its file ``"wb"`` (which truncates it) and
writes the bytes: a run that is killed, or a disk that fills, between the two leaves a truncated PNG where
the good one was (``tests/datasets/test_figures.py`` shows it). :class:`AtomicMatplotlibDataset` keeps
everything else of it (paths, versioning, ``save_args``, folder saves of a dict or list, kedro-viz preview)
and changes only the write: every figure of a save is rendered first, so a figure that fails to draw
writes nothing, then each file is written beside its target and renamed over it
(:func:`lamini_lm.datasets.atomic.atomic_file_write`). Other protocols (``s3://``...) are written as
``MatplotlibDataset`` writes them: an object store replaces an object whole.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from kedro_datasets.matplotlib import MatplotlibDataset

from lamini_lm.datasets.atomic import atomic_file_write


class AtomicMatplotlibDataset(MatplotlibDataset):
    """``matplotlib.MatplotlibDataset`` (same arguments) whose local saves are atomic per file."""

    _rendered: dict[str, bytes] | None = None

    def save(self, data: Any) -> None:
        if self._protocol != "file":
            MatplotlibDataset.save.__wrapped__(self, data)
            return
        self._rendered = {}
        try:
            # MatplotlibDataset's own save: the paths, sub-path checks and pyplot clean-up; _save_to_fs only renders.
            MatplotlibDataset.save.__wrapped__(self, data)
            for path, content in self._rendered.items():
                atomic_file_write(Path(path), lambda tmp, content=content: tmp.write_bytes(content))
        finally:
            self._rendered = None
        self._invalidate_cache()

    def _save_to_fs(self, full_key_path: str, plot: Any) -> None:
        if self._rendered is None:
            super()._save_to_fs(full_key_path, plot)
            return
        buffer = io.BytesIO()
        plot.savefig(buffer, **self._save_args)
        self._rendered[full_key_path] = buffer.getvalue()
