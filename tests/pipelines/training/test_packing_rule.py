"""``training.packing: auto``: pack seq2seq batches only where the estimated compute is lower."""

from __future__ import annotations

import numpy as np
import pytest
from conf_params import conf_block
from transformers import T5Config

from lamini_lm.pipelines.training.collate import choose_packing, layout_cost, packing_cost
from lamini_lm.pipelines.training.params import TrainingParams

TINY = T5Config(vocab_size=2048, d_model=64, d_ff=128, d_kv=16, num_heads=4, num_layers=2, num_decoder_layers=2)
T5_BASE = T5Config(vocab_size=32128, d_model=768, d_ff=3072, d_kv=64, num_heads=12, num_layers=12)


def _lengths(mean_source: float, mean_target: float, n: int = 400) -> tuple[list[int], list[int]]:
    rng = np.random.default_rng(0)
    source = rng.lognormal(np.log(mean_source), 0.8, n).astype(int).clip(2, 512)
    target = rng.lognormal(np.log(mean_target), 0.8, n).astype(int).clip(2, 512)
    return source.tolist(), target.tolist()


def test_fixed_choices_and_the_families_and_batchings_that_never_pack():
    source, target = _lengths(10, 10)
    assert choose_packing(True, "seq2seq", "grouped", TINY, source, target, 16, 512) is True
    assert choose_packing(False, "seq2seq", "grouped", T5_BASE, source, target, 16, 512) is False
    for mode in (True, "auto"):
        assert choose_packing(mode, "causal", "grouped", T5_BASE, source, target, 16, 512) is False
        assert choose_packing(mode, "seq2seq", "max_length", T5_BASE, source, target, 16, 512) is False
    with pytest.raises(ValueError, match="training.packing"):
        choose_packing("always", "seq2seq", "grouped", TINY, source, target, 16, 512)


def test_auto_packs_short_pairs_for_a_wide_model_and_not_long_pairs_for_a_narrow_one():
    short = _lengths(6, 8)  # packing removes most of the padding, rows stay short
    long = _lengths(60, 180)  # packed rows approach 512 a side
    assert choose_packing("auto", "seq2seq", "grouped", T5_BASE, *short, 16, 512) is True
    assert choose_packing("auto", "seq2seq", "grouped", TINY, *long, 16, 512) is False
    packed, unpacked = packing_cost(TINY, *long, 16, 512)
    assert packed > unpacked


def test_layout_cost_is_linear_in_rows_and_superlinear_in_width():
    assert layout_cost(T5_BASE, 8, 64, 64) == pytest.approx(2 * layout_cost(T5_BASE, 4, 64, 64))
    # the same tokens in 4x wider rows: attention grows, the per-token terms do not
    assert layout_cost(TINY, 4, 512, 512) > 1.5 * layout_cost(TINY, 16, 128, 128)
    assert layout_cost(T5_BASE, 4, 512, 512) < 1.5 * layout_cost(T5_BASE, 16, 128, 128)


def test_every_environment_sets_packing_to_a_valid_choice():
    for env in ("base", "paper", "local_llm"):
        settings = TrainingParams.model_validate(conf_block("training", env=env))
        assert settings.packing in ("auto", True, False)
