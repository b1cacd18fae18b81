"""Batching without waste: length-grouped batch order and dynamic padding, for both families.

:class:`LengthGroupedOrder` puts examples of similar shape in the same batch (and shuffles the
batches), :class:`DynamicPaddingCollator` pads each batch only to its longest example. The
collator counts real and padded tokens: that is the padding fraction in ``training_metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lamini_lm.pipelines.training.tokenize import IGNORE_INDEX


@dataclass
class PaddingStats:
    """Running count of real and total (real + pad) token positions in collated batches."""

    real_tokens: int = 0
    total_tokens: int = 0
    batches: int = 0

    @property
    def padding_fraction(self) -> float:
        return 1.0 - self.real_tokens / self.total_tokens if self.total_tokens else 0.0

    def reset(self) -> None:
        self.real_tokens = self.total_tokens = self.batches = 0


@dataclass
class DynamicPaddingCollator:
    """Pad ``input_ids`` with the pad id and ``labels`` with ``-100`` to the batch's longest example.

    ``pad_to_length`` pads every batch to a fixed length instead (the naive baseline the
    throughput benchmark compares against). For ``seq2seq`` the model derives decoder inputs
    from the labels, so inputs and labels are padded separately.
    """

    pad_token_id: int
    family: str
    pad_to_length: int | None = None
    stats: PaddingStats = field(default_factory=PaddingStats)

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        input_ids = [list(f["input_ids"]) for f in features]
        labels = [list(f["labels"]) for f in features]
        width = self.pad_to_length or max(len(x) for x in input_ids)
        batch = {
            "input_ids": _pad(input_ids, width, self.pad_token_id),
            "attention_mask": _pad([[1] * len(x) for x in input_ids], width, 0),
        }
        real = sum(len(x) for x in input_ids)
        total = width * len(input_ids)
        if self.family == "causal":
            batch["labels"] = _pad(labels, width, IGNORE_INDEX)
        else:
            label_width = self.pad_to_length or max(len(x) for x in labels)
            batch["labels"] = _pad(labels, label_width, IGNORE_INDEX)
            real += sum(len(x) for x in labels)
            total += label_width * len(labels)
        self.stats.real_tokens += real
        self.stats.total_tokens += total
        self.stats.batches += 1
        return batch


def _pad(rows: list[list[int]], width: int, value: int) -> torch.Tensor:
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, row in enumerate(rows):
        row = row[:width]
        out[i, : len(row)] = torch.tensor(row, dtype=torch.long)
    return out


class LengthGroupedOrder(torch.utils.data.Sampler):
    """Example order whose consecutive ``batch_size`` runs are batches of similar shape.

    Each epoch (seeded by ``seed + epoch``): shuffle, sort by ``primary`` length (stable, so ties
    stay shuffled), cut into batches and shuffle the batches. Causal examples have one length. For
    seq2seq, ``primary`` is the response and ``secondary`` the instruction: runs of ``k`` batches
    of the response-sorted order are re-sorted by instruction length, with ``k`` chosen among
    1, 2, 4, ... 32 to pad the least — so encoder and decoder are both tight at any data size.
    Sorting the whole epoch (not a window, as ``LengthGroupedSampler`` does) keeps padding low on
    small datasets; shuffling whole batches keeps the order random.
    """

    CHUNK_CHOICES = (1, 2, 4, 8, 16, 32)

    def __init__(self, primary: list[int], batch_size: int, seed: int, secondary: list[int] | None = None):
        self.primary = np.asarray(primary)
        self.secondary = None if secondary is None else np.asarray(secondary)
        self.batch_size = int(batch_size)
        self.seed = int(seed)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.primary)

    def batches(self) -> list[np.ndarray]:
        """This epoch's batches (index arrays), in training order."""
        rng = np.random.default_rng(self.seed + self.epoch)
        order = rng.permutation(len(self.primary))
        order = order[np.argsort(self.primary[order], kind="stable")]
        if self.secondary is not None:
            candidates = [self._resort(order, k * self.batch_size) for k in self.CHUNK_CHOICES]
            order = min(candidates, key=self._padded_positions)
        batches = [order[i : i + self.batch_size] for i in range(0, len(order), self.batch_size)]
        # The data loader cuts this order into runs of batch_size: a short batch must come last,
        # or every batch after it would straddle two groups.
        full = len(order) // self.batch_size
        return [batches[i] for i in rng.permutation(full)] + batches[full:]

    def _resort(self, order: np.ndarray, chunk: int) -> np.ndarray:
        chunks = [order[i : i + chunk] for i in range(0, len(order), chunk)]
        return np.concatenate([c[np.argsort(self.secondary[c], kind="stable")] for c in chunks])

    def _padded_positions(self, order: np.ndarray) -> int:
        total = 0
        for lengths in (self.primary, self.secondary):
            for i in range(0, len(order), self.batch_size):
                batch = lengths[order[i : i + self.batch_size]]
                total += len(batch) * int(batch.max()) - int(batch.sum())
        return total

    def __iter__(self):
        for batch in self.batches():
            yield from batch.tolist()
