"""Project metadata in step, and the herd instantiated from each environment's configuration."""

from __future__ import annotations

import pytest
import tomllib
import yaml
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, MemoryDataset

from lamini_lm.datasets import CheckpointDataset, TokenizerDataset
from lamini_lm.herd import Herd, herd_members
from lamini_lm.pipelines.training.pipeline import create_pipeline
from lamini_lm.settings import CONFIG_LOADER_ARGS

PAPER_CHECKPOINTS = {
    "t5-small",
    "t5-base",
    "t5-large",
    "google/flan-t5-small",
    "google/flan-t5-base",
    "google/flan-t5-large",
    "cerebras/Cerebras-GPT-111M",
    "cerebras/Cerebras-GPT-256M",
    "cerebras/Cerebras-GPT-590M",
    "cerebras/Cerebras-GPT-1.3B",
    "gpt2",
    "gpt2-large",
    "gpt2-xl",
    "EleutherAI/gpt-neo-125m",
    "EleutherAI/gpt-neo-1.3B",
    "EleutherAI/gpt-j-6b",
    "huggyllama/llama-7b",
}


def loader(project_root, env: str) -> OmegaConfigLoader:
    return OmegaConfigLoader(conf_source=str(project_root / "conf"), env=env, **CONFIG_LOADER_ARGS)


def test_kedro_yml_mirrors_pyproject(project_root):
    pyproject = tomllib.loads((project_root / "pyproject.toml").read_text())["tool"]["kedro"]
    mirror = yaml.safe_load((project_root / ".kedro.yml").read_text())
    assert mirror == pyproject


def test_base_herd_is_a_tiny_seq2seq_and_a_tiny_causal_student(project_root):
    params = loader(project_root, "base")["parameters"]
    herd = herd_members(params)
    families = {params["models"][name]["family"] for name in herd}
    assert families == {"seq2seq", "causal"}
    for name in herd:
        entry = params["models"][name]
        assert "config" in entry and "checkpoint" not in entry
    Herd.from_parameters(params)  # models, herd and size classes validate together
    assert params["training"]["seed"] == 42


def test_paper_herd_is_the_lamini_herd_with_paper_hyperparameters(project_root):
    """EACL Table 3 (6 encoder-decoder + 11 decoder-only) with Appendix D's hyper-parameters per family."""
    params = loader(project_root, "paper")["parameters"]
    herd = herd_members(params)
    typed = Herd.from_parameters(params)
    families = [typed.models[n].family for n in herd]
    assert len(herd) == 17 and (families.count("seq2seq"), families.count("causal")) == (6, 11)
    assert {typed.models[n].checkpoint for n in herd} == PAPER_CHECKPOINTS
    assert "tiny_t5" in params["models"] and "tiny_t5" not in herd  # models merge, herd replaces
    assert typed.size_class_variant is None and "flan_t5_card" in typed.size_class_variants.root
    for name in herd:
        hp = typed.hyperparameters(name)
        assert (hp.effective_batch_size, hp.epochs, hp.max_length) == (1024, 5, 512)
        assert hp.max_steps == (6000 if name in {"lamini_gpt_j_6b", "lamini_llama_7b"} else -1)
        if typed.models[name].family == "seq2seq":
            assert (hp.learning_rate, hp.lr_scheduler_type) == (5e-4, "linear")
        else:
            expected = (2e-5, "cosine", 0.03, 0.0)
            assert (hp.learning_rate, hp.lr_scheduler_type, hp.warmup_ratio, hp.weight_decay) == expected
    assert params["training"]["seed"] == 42 and params["training"]["launcher"] == "none"


@pytest.mark.parametrize("env", ["base", "paper"])
def test_training_pipeline_has_one_namespace_per_member(project_root, env):
    params = loader(project_root, env)["parameters"]
    herd = herd_members(params)
    pipe = create_pipeline(herd)
    assert {node.namespace for node in pipe.nodes} == set(herd)
    for name in herd:
        assert f"params:models.{name}" in pipe.inputs()


def test_catalog_factories_give_each_member_its_entries(project_root):
    catalog = DataCatalog.from_config(loader(project_root, "base")["catalog"])
    checkpoint = catalog["tiny_t5.checkpoint"]
    assert isinstance(checkpoint, CheckpointDataset)
    assert checkpoint._describe()["filepath"] == "data/06_models/tiny_t5"
    assert isinstance(catalog["tiny_gpt2.tokenizer"], TokenizerDataset)
    assert type(catalog["tiny_gpt2.tokenized_train"]).__name__ == "ParquetDataset"
    assert type(catalog["tiny_gpt2.training_metrics"]).__name__ == "JSONDataset"
    student = catalog["tiny_gpt2.base_student"]
    assert isinstance(student, MemoryDataset) and student._copy_mode == "assign"


def test_the_lamini_lm_command_promised_by_main_is_declared(project_root):
    scripts = tomllib.loads((project_root / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"lamini-lm": "lamini_lm.__main__:main"}
    from lamini_lm.__main__ import main

    assert callable(main)
