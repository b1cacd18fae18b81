"""Dynamic padding for both families and the padding count behind ``padding_fraction``."""

from __future__ import annotations

import numpy as np
import torch

from lamini_lm.pipelines.training.collate import DynamicPaddingCollator, LengthGroupedOrder

CAUSAL = [
    {"input_ids": [5, 6, 7], "labels": [-100, 6, 7]},
    {"input_ids": [8], "labels": [8]},
]
SEQ2SEQ = [
    {"input_ids": [5, 6], "labels": [9, 1]},
    {"input_ids": [7, 8, 9, 1], "labels": [3, 4, 5, 6, 1]},
]


def test_causal_batch_pads_to_the_longest_example():
    collate = DynamicPaddingCollator(pad_token_id=0, family="causal")
    batch = collate(CAUSAL)
    assert batch["input_ids"].tolist() == [[5, 6, 7], [8, 0, 0]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    assert batch["labels"].tolist() == [[-100, 6, 7], [8, -100, -100]]
    assert batch["input_ids"].dtype == torch.long
    assert collate.stats.real_tokens == 4 and collate.stats.total_tokens == 6
    assert abs(collate.stats.padding_fraction - 2 / 6) < 1e-9


def test_seq2seq_pads_encoder_and_decoder_separately():
    collate = DynamicPaddingCollator(pad_token_id=0, family="seq2seq")
    batch = collate(SEQ2SEQ)
    assert batch["input_ids"].tolist() == [[5, 6, 0, 0], [7, 8, 9, 1]]
    assert batch["attention_mask"].tolist() == [[1, 1, 0, 0], [1, 1, 1, 1]]
    assert batch["labels"].tolist() == [[9, 1, -100, -100, -100], [3, 4, 5, 6, 1]]
    assert (collate.stats.real_tokens, collate.stats.total_tokens) == (6 + 7, 8 + 10)


def test_pad_to_length_is_the_naive_baseline():
    collate = DynamicPaddingCollator(pad_token_id=0, family="causal", pad_to_length=8)
    batch = collate(CAUSAL)
    assert batch["input_ids"].shape == (2, 8)
    assert collate.stats.padding_fraction == 1 - 4 / 16
    collate.stats.reset()
    assert collate.stats.total_tokens == 0 and collate.stats.padding_fraction == 0.0


def padded_fraction(batches, *lengths) -> float:
    real = sum(int(length[b].sum()) for b in batches for length in lengths)
    total = sum(len(b) * int(length[b].max()) for b in batches for length in lengths)
    return 1 - real / total


def test_length_grouped_order_is_a_seeded_permutation_of_tight_batches():
    rng = np.random.default_rng(0)
    lengths = rng.integers(5, 300, size=1000)
    order = LengthGroupedOrder(lengths.tolist(), batch_size=16, seed=3)
    first = list(order)
    assert sorted(first) == list(range(1000)) and len(order) == 1000
    # The data loader cuts the order into runs of 16: those runs must be the grouped batches.
    runs = [np.array(first[i : i + 16]) for i in range(0, 1000, 16)]
    assert padded_fraction(runs, lengths) < 0.02 and len(runs[-1]) == 1000 % 16
    assert first == list(LengthGroupedOrder(lengths.tolist(), batch_size=16, seed=3))
    order.set_epoch(1)
    assert list(order) != first
    batches = order.batches()
    assert padded_fraction(batches, lengths) < 0.02
    shuffled = [rng.permutation(1000)[i : i + 16] for i in range(0, 1000, 16)]
    assert padded_fraction(shuffled, lengths) > 0.3
    # Batches are shuffled: the longest batch is not always first or last.
    maxima = [int(lengths[b].max()) for b in batches]
    assert maxima != sorted(maxima) and maxima != sorted(maxima, reverse=True)


def test_seq2seq_order_keeps_both_encoder_and_decoder_tight():
    rng = np.random.default_rng(1)
    responses, instructions = rng.integers(5, 256, size=2000), rng.integers(5, 80, size=2000)
    by_response_only = LengthGroupedOrder(responses.tolist(), batch_size=16, seed=0).batches()
    both = LengthGroupedOrder(responses.tolist(), batch_size=16, seed=0, secondary=instructions.tolist()).batches()
    assert (
        padded_fraction(both, responses, instructions)
        < padded_fraction(by_response_only, responses, instructions) - 0.1
    )
