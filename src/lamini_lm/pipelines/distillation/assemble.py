"""``lamini_dataset``: the union of teacher answers and published sources, de-duplicated, split."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from lamini_lm.pipelines.distillation.imports import PAIR_COLUMNS, empty_pairs, typed_pairs
from lamini_lm.pipelines.distillation.params import AssembleParams, SplitParams

logger = logging.getLogger(__name__)

DATASET_COLUMNS = [*PAIR_COLUMNS, "split"]


def instruction_key(instructions: pd.Series) -> pd.Series:
    """The de-duplication key: case-folded, whitespace collapsed."""
    return instructions.astype("string").str.lower().str.replace(r"\s+", " ", regex=True).str.strip()


def split_by_source(frame: pd.DataFrame, splits: SplitParams) -> pd.Series:
    """``train``/``validation`` labels stratified by ``instruction_source``, seeded.

    Each source sends ``validation_fraction`` of its rows (at least ``min_validation_per_source``
    when it has two rows or more, at most ``max_validation_per_source`` when set) to validation.
    """
    fraction = splits.validation_fraction
    minimum = splits.min_validation_per_source
    maximum = splits.max_validation_per_source
    rng = np.random.default_rng(splits.seed)
    order = pd.Series(rng.random(len(frame)), index=frame.index)
    rank = order.groupby(frame["instruction_source"].to_numpy(), sort=False).rank(method="first")
    sizes = frame.groupby("instruction_source", sort=False)["instruction_source"].transform("size")
    n_val = np.floor(sizes * fraction)
    n_val = np.where(sizes >= 2, np.maximum(n_val, minimum), 0)
    n_val = np.minimum(n_val, sizes - 1)
    if maximum is not None:
        n_val = np.minimum(n_val, maximum)
    labels = np.where(rank.to_numpy() <= n_val, "validation", "train")
    return pd.Series(labels, index=frame.index, dtype="string")


def assemble_lamini_dataset(
    settings: AssembleParams, teacher_pairs: pd.DataFrame, *published: pd.DataFrame
) -> pd.DataFrame:
    """Teacher answers ∪ published sources, de-duplicated on instruction, with splits.

    Rows earlier in the union win a duplicate: the teacher's own answers first, then the
    published sources in pipeline order. ``settings`` is ``params:distillation.assemble``
    (``include_teacher_answers``, ``dedupe``) with ``splits`` nested.
    """
    parts = []
    if settings.include_teacher_answers and len(teacher_pairs):
        missing = [column for column in PAIR_COLUMNS if column not in teacher_pairs.columns]
        if missing:
            raise KeyError(f"teacher answers lack column(s) {missing}; found {list(teacher_pairs.columns)}.")
        parts.append(typed_pairs(teacher_pairs))
    parts.extend(typed_pairs(frame) for frame in published if len(frame))
    if not parts:
        raise ValueError(
            "lamini_dataset would be empty: no teacher answers and no enabled import source under "
            "'distillation.imports'. Run the distillation pipeline or enable a published source."
        )
    union = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    before = len(union)
    if settings.dedupe:
        union = union[~instruction_key(union["instruction"]).duplicated(keep="first").to_numpy()]
        union = union.reset_index(drop=True)
    logger.info(
        "lamini_dataset: %d rows (%d duplicate instruction(s) removed); per source: %s",
        len(union),
        before - len(union),
        union["instruction_source"].value_counts().to_dict(),
    )
    union["split"] = split_by_source(union, settings.splits)
    return union[DATASET_COLUMNS]


__all__ = ["DATASET_COLUMNS", "assemble_lamini_dataset", "empty_pairs", "split_by_source"]
