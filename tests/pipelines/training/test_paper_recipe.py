"""conf/paper is the paper's training recipe: the EACL herd (Table 3) with its LaMini and base-model rows,
and Appendix D's hyper-parameters per family; the Flan-T5 model cards' settings are a named variant."""

from __future__ import annotations

import pandas as pd
import pytest

from lamini_lm.herd import Herd, SizeClasses, SizeClassVariants
from lamini_lm.parameters import load_parameters
from lamini_lm.pipelines.training import nodes

GPUS = 8  # the paper's machines: 8×V100 32G and 8×A100 40G (Appendix D)
LARGEST = {"lamini_gpt_j_6b", "lamini_llama_7b"}


@pytest.fixture(scope="module")
def paper() -> dict:
    return load_parameters("paper")


@pytest.fixture(scope="module")
def herd(paper) -> Herd:
    return Herd.from_parameters(paper)


@pytest.fixture(scope="module")
def results(raw_data) -> pd.DataFrame:
    return pd.read_csv(raw_data / "paper" / "results_15_tasks.csv")


def test_the_paper_herd_is_eacl_table_3(herd):
    families = [herd.models[name].family for name in herd.herd]
    assert len(herd.herd) == 17
    assert (families.count("seq2seq"), families.count("causal")) == (6, 11)
    assert herd.models["lamini_gpt_j_6b"].checkpoint == "EleutherAI/gpt-j-6b"
    assert herd.models["lamini_llama_7b"].checkpoint  # a hub id or a local copy: LLaMA is gated (conf comment)


def test_every_member_names_its_lamini_row_and_its_base_row_in_the_results_csv(herd, results):
    lamini = dict(zip(results["model"], results["lamini"]))
    for name in herd.herd:
        spec = herd.models[name]
        assert lamini.get(spec.paper_reference) is True, (name, spec.paper_reference)
        assert lamini.get(spec.paper_base_reference) is False, (name, spec.paper_base_reference)
    references = [herd.models[name].paper_reference for name in herd.herd]
    assert len(set(references)) == 17 == int(results["lamini"].sum())  # every LaMini row once
    assert herd.models["lamini_gpt2_1_5b"].paper_reference == "LaMini-GPT-1.5B"
    assert herd.models["lamini_gpt2_1_5b"].paper_base_reference == "GPT-2-XL"
    assert herd.models["lamini_llama_7b"].paper_base_reference == "LLaMA-7B"


def test_appendix_d_hyperparameters_per_family(herd):
    for name in herd.herd:
        hp = herd.hyperparameters(name)
        assert (hp.effective_batch_size, hp.epochs, hp.max_length) == (1024, 5, 512), name
        assert hp.max_steps == (6000 if name in LARGEST else -1), name
        if herd.models[name].family == "seq2seq":
            assert (hp.learning_rate, hp.lr_scheduler_type, hp.warmup_ratio, hp.weight_decay) == (
                5e-4,
                "linear",
                0.0,
                0.0,
            ), name
        else:  # Alpaca's configuration
            assert (hp.learning_rate, hp.lr_scheduler_type, hp.warmup_ratio, hp.weight_decay) == (
                2e-5,
                "cosine",
                0.03,
                0.0,
            ), name


def test_per_device_batches_reach_1024_exactly_on_eight_gpus_and_on_one(herd):
    for name in herd.herd:
        hp = herd.hyperparameters(name)
        for devices in (GPUS, 1):
            assert hp.per_device_batch_size * devices * hp.gradient_accumulation(devices) == 1024, (name, devices)


def test_the_flan_t5_card_variant_is_one_parameter_away_and_not_the_default(paper, herd):
    assert herd.size_class_variant is None
    card = Herd.from_parameters({**paper, "size_class_variant": "flan_t5_card"})
    for name in card.herd:
        hp, default = card.hyperparameters(name), herd.hyperparameters(name)
        if card.models[name].family == "seq2seq":
            assert (hp.effective_batch_size, hp.learning_rate, hp.lr_scheduler_type) == (512, 5e-4, "linear")
            assert hp.per_device_batch_size * GPUS * hp.gradient_accumulation(GPUS) == 512
        else:
            assert hp == default, name


def test_the_resolve_node_applies_the_variant(paper):
    herd = Herd.from_parameters(paper)
    spec = herd.models["lamini_flan_t5_783m"]
    size_classes = SizeClasses.model_validate(paper["size_classes"])
    variants = SizeClassVariants.model_validate(paper["size_class_variants"])
    resolve = nodes.resolve_member_hyperparameters
    assert resolve(spec, size_classes, variants, None, name="m").effective_batch_size == 1024
    assert resolve(spec, size_classes, variants, "flan_t5_card", name="m").effective_batch_size == 512


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"size_class_variant": "nope"}, r"size_class_variant 'nope' is not defined"),
        (
            {"size_class_variants": {"flan_t5_card": {"seq2seq_huge": {"epochs": 1}}}},
            r"'size_class_variants\.flan_t5_card\.seq2seq_huge': no size class",
        ),
        (
            {"size_class_variants": {"flan_t5_card": {"seq2seq_small": {"effective_bach_size": 512}}}},
            r"size_class_variants\.flan_t5_card\.seq2seq_small\.effective_bach_size",
        ),
    ],
)
def test_a_bad_variant_names_the_key(paper, override, message):
    params = {**paper, **override}
    if "size_class_variants" in override:
        params["size_class_variant"] = "flan_t5_card"
    with pytest.raises(ValueError, match=message):
        Herd.from_parameters(params)
