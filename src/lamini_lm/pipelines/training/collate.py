"""Batching without waste: length-grouped batch order, dynamic padding and seq2seq packing.

:class:`LengthGroupedOrder` puts examples of similar shape in the same batch (and shuffles the
batches), :class:`DynamicPaddingCollator` pads each batch only to its longest example. The
collator counts real and padded tokens: that is the padding fraction in ``training_metrics``.

For seq2seq, ``pack=True`` packs a batch's (instruction, response) pairs into fewer rows (see
:func:`pack_rows`) with block-diagonal masks, so that no example attends to another: encoder
self-attention within a segment, decoder self-attention causal within a segment, and decoder
segment *i* cross-attends only to encoder segment *i*. Decoder inputs restart with the decoder
start token at each segment. T5's position bias is relative, so positions need no reset.
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

    ``pack`` (seq2seq only) packs the batch's examples into rows of at most ``pack_length`` tokens
    a side instead: the batch then holds ``input_ids``, ``decoder_input_ids``, ``labels`` and
    boolean 4-D ``attention_mask``, ``decoder_attention_mask`` and ``cross_attention_mask``
    (:func:`segment_masks`), which ``trainer.packed_model_inputs`` turns into model inputs.
    """

    pad_token_id: int
    family: str
    pad_to_length: int | None = None
    stats: PaddingStats = field(default_factory=PaddingStats)
    # seq2seq packing (training batches only: the trainer turns it on for training, off for evaluation)
    pack: bool = False
    pack_length: int = 512
    decoder_start_token_id: int | None = None

    def __call__(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        if self.pack and self.family == "seq2seq" and self.pad_to_length is None:
            return self._packed(features)
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

    def _packed(self, features: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        sources = [list(f["input_ids"]) for f in features]
        targets = [list(f["labels"]) for f in features]
        rows = pack_rows([len(x) for x in sources], [len(x) for x in targets], self.pack_length)
        start = self.pad_token_id if self.decoder_start_token_id is None else self.decoder_start_token_id
        enc_ids, dec_ids, labels, enc_seg, dec_seg = [], [], [], [], []
        for row in rows:
            e, d, y, es, ds = [], [], [], [], []
            for segment, i in enumerate(row, start=1):
                source, target = sources[i], targets[i]
                e += source
                es += [segment] * len(source)
                y += target
                # shift right within the segment: never across segments
                d += [start] + [t if t != IGNORE_INDEX else self.pad_token_id for t in target[:-1]]
                ds += [segment] * len(target)
            enc_ids.append(e), dec_ids.append(d), labels.append(y), enc_seg.append(es), dec_seg.append(ds)
        enc_width = max(len(x) for x in enc_ids)
        dec_width = max(len(x) for x in dec_ids)
        enc_seg_t = _pad(enc_seg, enc_width, 0)
        dec_seg_t = _pad(dec_seg, dec_width, 0)
        masks = segment_masks(enc_seg_t, dec_seg_t)
        real = sum(map(len, sources)) + sum(map(len, targets))
        self.stats.real_tokens += real
        self.stats.total_tokens += len(rows) * (enc_width + dec_width)
        self.stats.batches += 1
        return {
            "input_ids": _pad(enc_ids, enc_width, self.pad_token_id),
            "decoder_input_ids": _pad(dec_ids, dec_width, self.pad_token_id),
            "labels": _pad(labels, dec_width, IGNORE_INDEX),
            **masks,
        }


def segment_masks(enc_seg: torch.Tensor, dec_seg: torch.Tensor) -> dict[str, torch.Tensor]:
    """Boolean 4-D masks ``(rows, 1, query, key)`` (True = may attend) from segment ids (0 = pad).

    ``attention_mask``: encoder self-attention, block diagonal. ``decoder_attention_mask``: causal
    and block diagonal. ``cross_attention_mask``: decoder segment *i* sees encoder segment *i*
    only. Pad positions attend to themselves (a row with no allowed key would be undefined).
    """
    enc_self = (enc_seg[:, :, None] == enc_seg[:, None, :]) & (enc_seg[:, :, None] > 0)
    dec_self = (dec_seg[:, :, None] == dec_seg[:, None, :]) & (dec_seg[:, :, None] > 0)
    dec_self &= torch.ones(dec_seg.shape[1], dec_seg.shape[1], dtype=torch.bool).tril()
    enc_self |= torch.eye(enc_seg.shape[1], dtype=torch.bool)
    dec_self |= torch.eye(dec_seg.shape[1], dtype=torch.bool)
    cross = (dec_seg[:, :, None] == enc_seg[:, None, :]) & (dec_seg[:, :, None] > 0)
    return {
        "attention_mask": enc_self[:, None],
        "decoder_attention_mask": dec_self[:, None],
        "cross_attention_mask": cross[:, None],
    }


PACK_TOLERANCE = 0.02


def pack_rows(source_lengths: list[int], target_lengths: list[int], pack_length: int) -> list[list[int]]:
    """Assign examples to rows; returns each row's example indices (in batch order).

    For every row count ``r`` (1 .. examples), examples go, longest first, to the row that keeps
    ``max encoder row + max decoder row`` smallest (ties: the least loaded row); a row may not
    exceed ``pack_length`` on either side. Attention cost grows with the square of the row width,
    so among the row counts within ``PACK_TOLERANCE`` of the fewest padded positions, the most
    rows (the shortest) win.
    """
    n = len(source_lengths)
    src, tgt = np.asarray(source_lengths), np.asarray(target_lengths)
    by_size = np.argsort(-(src + tgt), kind="stable")
    best: dict[int, tuple[int, list[list[int]]]] = {}
    fewest_rows = max(1, -(-int(src.sum()) // pack_length), -(-int(tgt.sum()) // pack_length))
    for r in range(min(fewest_rows, n), n + 1):
        enc, dec = np.zeros(r, dtype=np.int64), np.zeros(r, dtype=np.int64)
        rows: list[list[int]] = [[] for _ in range(r)]
        for i in by_size:
            new_enc, new_dec = enc + src[i], dec + tgt[i]
            others_enc, others_dec = _max_of_others(enc), _max_of_others(dec)
            cost = np.maximum(new_enc, others_enc) + np.maximum(new_dec, others_dec)
            j = int(np.lexsort((enc + dec, cost))[0])
            enc[j], dec[j] = new_enc[j], new_dec[j]
            rows[j].append(int(i))
        if enc.max() > pack_length or dec.max() > pack_length:
            continue
        best[r] = (r * int(enc.max() + dec.max()), [sorted(row) for row in rows if row])
    if not best:  # an example longer than pack_length on its own: one example per row
        return [[i] for i in range(n)]
    fewest = min(positions for positions, _ in best.values())
    r = max(k for k, (positions, _) in best.items() if positions <= fewest * (1 + PACK_TOLERANCE))
    return best[r][1]


def _max_of_others(loads: np.ndarray) -> np.ndarray:
    """For each row, the largest load among the other rows (0 when there is no other row)."""
    if len(loads) == 1:
        return np.zeros(1, dtype=loads.dtype)
    top = int(np.argmax(loads))
    out = np.full(len(loads), loads[top])
    out[top] = np.max(np.delete(loads, top))
    return out


def _pad(rows: list[list[int]], width: int, value: int) -> torch.Tensor:
    out = torch.full((len(rows), width), value, dtype=torch.long)
    for i, row in enumerate(rows):
        kept = row[:width]
        out[i, : len(kept)] = torch.tensor(kept, dtype=torch.long)
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


# Cost of one attention score (one query-key pair, one head) beyond its 4 * d_kv multiply-adds, in
# FLOP-equivalents: the element-wise passes over the score matrix (position bias and mask, softmax,
# dropout, their backward), memory-bound where the matmuls are not. Fitted on this project's 2-core CPU
# to dense rows of the same tokens (16 x 128 vs 4 x 512 a side: tiny T5 3.0x, T5-small 1.41x slower;
# this constant gives 3.5x and 1.48x). Re-fit it on a GPU (docs/benchmarks/training.md, "Packing rule").
ATTENTION_ELEMENT_COST = 1000.0
# `auto` packs only when packing is estimated to save at least this fraction of the compute. The margin
# covers what the estimate leaves out, the packed layout's own cost (dense 4-D masks per row): alternating
# timings of the same batches measured packing 7-36 % slower at T5-small (batch 8, 16) and T5-base (8)
# where the estimate says -3 to +0 %.
PACKING_MIN_SAVING = 0.10


def layout_cost(config: Any, rows: int, encoder_width: int, decoder_width: int) -> float:
    """Estimated compute (FLOP-equivalents) of one training batch of ``rows`` x (encoder, decoder) widths.

    A T5-shaped model: per token, the projections, feed-forward and LM head (linear in the width);
    per query-key pair, ``4 * d_kv`` multiply-adds and :data:`ATTENTION_ELEMENT_COST` per head
    (quadratic in the width). Forward and backward scale alike, so the ratio of two layouts holds.
    """
    d, inner, heads = config.d_model, config.num_heads * config.d_kv, config.num_heads
    ff = 3 if getattr(config, "is_gated_act", False) else 2
    enc_layers, dec_layers = config.num_layers, config.num_decoder_layers or config.num_layers
    per_encoder_token = enc_layers * (8 * d * inner + 2 * ff * d * config.d_ff) + dec_layers * 4 * d * inner
    per_decoder_token = dec_layers * (12 * d * inner + 2 * ff * d * config.d_ff) + 2 * d * config.vocab_size
    per_pair = 4 * inner + ATTENTION_ELEMENT_COST * heads
    pairs = enc_layers * encoder_width**2 + dec_layers * (decoder_width**2 + decoder_width * encoder_width)
    return rows * (encoder_width * per_encoder_token + decoder_width * per_decoder_token + pairs * per_pair)


def packing_cost(
    config: Any,
    source_lengths: list[int],
    target_lengths: list[int],
    batch_size: int,
    max_length: int,
    batches: int = 48,
) -> tuple[float, float]:
    """Estimated compute of the first ``batches`` length-grouped training batches, packed and not packed."""
    src, tgt = np.asarray(source_lengths), np.asarray(target_lengths)
    order = LengthGroupedOrder(list(tgt), batch_size, seed=0, secondary=list(src)).batches()[:batches]
    packed = unpacked = 0.0
    for batch in order:
        s, t = src[batch], tgt[batch]
        unpacked += layout_cost(config, len(batch), int(s.max()), int(t.max()))
        rows = pack_rows(s.tolist(), t.tolist(), max_length)
        widths = [(int(s[row].sum()), int(t[row].sum())) for row in rows]
        packed += layout_cost(config, len(rows), max(w[0] for w in widths), max(w[1] for w in widths))
    return packed, unpacked


def choose_packing(
    mode: bool | str,
    family: str,
    batching: str,
    config: Any,
    source_lengths: list[int],
    target_lengths: list[int],
    batch_size: int,
    max_length: int,
) -> bool:
    """Whether seq2seq training batches are packed (``training.packing``: ``true``, ``false`` or ``auto``).

    Never for causal models or the naive ``max_length`` batching. ``auto`` packs when
    :func:`packing_cost` estimates packing to save at least :data:`PACKING_MIN_SAVING` of the
    compute: packing removes padding (linear cost) but widens rows (quadratic attention), which wins
    for wide models and short pairs and loses for narrow models, where attention dominates.
    """
    if family != "seq2seq" or batching == "max_length" or mode is False:
        return False
    if mode is True:
        return True
    if mode != "auto":
        raise ValueError(f"training.packing must be true, false or auto, got {mode!r}")
    packed, unpacked = packing_cost(config, source_lengths, target_lengths, batch_size, max_length)
    return packed <= (1 - PACKING_MIN_SAVING) * unpacked
