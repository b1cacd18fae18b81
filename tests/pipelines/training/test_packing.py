"""Seq2seq packing: block-diagonal masks, per-segment decoder inputs, the same loss as unpacked."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lamini_lm.pipelines.training import nodes
from lamini_lm.pipelines.training.collate import DynamicPaddingCollator, pack_rows
from lamini_lm.pipelines.training.tokenize import as_records
from lamini_lm.pipelines.training.trainer import packed_model_inputs, training_order

EXAMPLES = [
    {"input_ids": [5, 6, 7, 1], "labels": [8, 9, 1]},
    {"input_ids": [10, 11, 1], "labels": [12, 13, 14, 15, 1]},
    {"input_ids": [20, 21, 22, 23, 24, 1], "labels": [25, 1]},
    {"input_ids": [30, 1], "labels": [31, 32, 33, 1]},
    {"input_ids": [40, 41, 42, 43, 44, 45, 46, 1], "labels": [47, 48, 49, 1]},
]


def _tiny_t5():
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    config = T5Config(
        vocab_size=64,
        d_model=32,
        d_ff=64,
        d_kv=8,
        num_heads=4,
        num_layers=2,
        num_decoder_layers=2,
        relative_attention_num_buckets=8,
        dropout_rate=0.0,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return T5ForConditionalGeneration(config).eval()


def test_packed_batch_masks_are_block_diagonal_and_decoder_restarts_per_segment():
    collate = DynamicPaddingCollator(
        pad_token_id=0, family="seq2seq", pack=True, pack_length=12, decoder_start_token_id=0
    )
    batch = collate(EXAMPLES)
    rows = batch["input_ids"].shape[0]
    assert 1 < rows < len(EXAMPLES)  # packed, and no row longer than pack_length
    assert batch["input_ids"].shape[1] <= 12 and batch["labels"].shape[1] <= 12
    assert batch["attention_mask"].shape == (rows, 1, batch["input_ids"].shape[1], batch["input_ids"].shape[1])
    assert batch["decoder_attention_mask"].shape == (rows, 1, batch["labels"].shape[1], batch["labels"].shape[1])
    assert batch["cross_attention_mask"].shape == (rows, 1, batch["labels"].shape[1], batch["input_ids"].shape[1])
    seen = []
    for r in range(rows):
        enc = batch["input_ids"][r].tolist()
        labels = batch["labels"][r].tolist()
        decoder = batch["decoder_input_ids"][r].tolist()
        # rebuild the segments: every example's encoder ids and labels are contiguous, in order
        for example in EXAMPLES:
            source, target = example["input_ids"], example["labels"]
            starts = [i for i in range(len(enc) - len(source) + 1) if enc[i : i + len(source)] == source]
            if not starts:
                continue
            s = starts[0]
            t = next(i for i in range(len(labels) - len(target) + 1) if labels[i : i + len(target)] == target)
            seen.append(source)
            assert decoder[t : t + len(target)] == [0] + target[:-1]  # decoder start at each segment
            enc_mask = batch["attention_mask"][r, 0]
            dec_mask = batch["decoder_attention_mask"][r, 0]
            cross = batch["cross_attention_mask"][r, 0]
            inside_enc = torch.zeros(len(enc), dtype=torch.bool)
            inside_enc[s : s + len(source)] = True
            inside_dec = torch.zeros(len(labels), dtype=torch.bool)
            inside_dec[t : t + len(target)] = True
            for q in range(s, s + len(source)):
                assert torch.equal(enc_mask[q], inside_enc)
            for q in range(t, t + len(target)):
                causal = inside_dec & (torch.arange(len(labels)) <= q)
                assert torch.equal(dec_mask[q], causal)
                assert torch.equal(cross[q], inside_enc)
    assert sorted(map(tuple, seen)) == sorted(tuple(e["input_ids"]) for e in EXAMPLES)
    real = sum(len(e["input_ids"]) + len(e["labels"]) for e in EXAMPLES)
    assert collate.stats.real_tokens == real
    assert collate.stats.total_tokens == rows * (batch["input_ids"].shape[1] + batch["labels"].shape[1])


@pytest.mark.parametrize("attn_implementation", ["eager", "sdpa"])
def test_packed_batch_gives_each_example_its_unpacked_loss(attn_implementation):
    model = _tiny_t5()
    model.config._attn_implementation = attn_implementation
    with torch.no_grad():
        expected = []
        for example in EXAMPLES:
            out = model(input_ids=torch.tensor([example["input_ids"]]), labels=torch.tensor([example["labels"]]))
            expected.append(
                torch.nn.functional.cross_entropy(out.logits[0], torch.tensor(example["labels"]), reduction="none")
            )
        for pack_length in (12, 64):  # several rows, one row
            collate = DynamicPaddingCollator(
                pad_token_id=0, family="seq2seq", pack=True, pack_length=pack_length, decoder_start_token_id=0
            )
            batch = collate(EXAMPLES)
            out = model(**packed_model_inputs(model, batch))
            labels = batch["labels"]
            token_loss = torch.nn.functional.cross_entropy(
                out.logits.transpose(1, 2), labels.clamp(min=0), reduction="none"
            )
            rows = pack_rows([len(e["input_ids"]) for e in EXAMPLES], [len(e["labels"]) for e in EXAMPLES], pack_length)
            assert len(rows) == labels.shape[0] and (len(rows) > 1) == (pack_length == 12)
            for r, row in enumerate(rows):  # each row holds its examples' segments in index order
                want_row = torch.cat([expected[i] for i in row])
                got_row = token_loss[r, : len(want_row)]
                assert torch.allclose(got_row, want_row, atol=1e-5), (r, row)
            want = torch.cat(expected)
            assert abs(out.loss.item() - want.mean().item()) < 1e-5


def test_pack_rows_places_every_example_once_within_the_pack_length():
    rng = np.random.default_rng(0)
    sources, targets = rng.integers(2, 60, 32).tolist(), rng.integers(2, 200, 32).tolist()
    rows = pack_rows(sources, targets, 256)
    assert sorted(i for row in rows for i in row) == list(range(32))
    assert all(sum(sources[i] for i in row) <= 256 and sum(targets[i] for i in row) <= 256 for row in rows)
    assert pack_rows([300], [5], 256) == [[0]]  # too long to pack: alone in its row


def test_packing_pads_under_ten_percent_of_tokens_on_lamini_rows(lamini_rows, models, hyperparameters, training):
    train, validation = nodes.split_dataset(lamini_rows, training, name="tiny_t5")
    tokenizer = nodes.build_tokenizer(train, models["tiny_t5"], name="tiny_t5")
    table, _ = nodes.tokenize_dataset(train, validation, tokenizer, models["tiny_t5"], hyperparameters, name="tiny_t5")
    records = as_records(table)
    features = [{"input_ids": a, "labels": b} for a, b in zip(records["input_ids"], records["labels"])]
    order = training_order(records, "seq2seq", 16, seed=7)
    fractions = {}
    for pack in (False, True):
        collate = DynamicPaddingCollator(
            pad_token_id=tokenizer.pad_token_id, family="seq2seq", pack=pack, pack_length=256, decoder_start_token_id=0
        )
        for batch in order.batches():
            collate([features[i] for i in batch])
        fractions[pack] = collate.stats.padding_fraction
    # max_length is 96 here: rows of up to 256 tokens leave room to pack the long examples too
    assert fractions[True] <= 0.10 and fractions[True] < fractions[False]
