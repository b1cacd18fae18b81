"""The packaged_model pipeline: a GGUF inside an installed package → a normal Hugging Face folder, once."""

from __future__ import annotations

import json

import pytest
from kedro.io.core import DatasetError
from local_llm_helpers import packaged_params

from lamini_lm.datasets.packaged_gguf import PackagedGGUFDataset
from lamini_lm.datasets.packaged_model import ConvertedModel, PackagedModelDataset
from lamini_lm.pipelines.packaged_model.nodes import convert_packaged_model
from lamini_lm.pipelines.packaged_model.pipeline import create_pipeline


def test_the_packaged_file_is_found_without_importing_the_package(tiny_gguf_dataset, tiny_site):
    gguf = tiny_gguf_dataset.load()  # the package's __init__ raises if imported
    assert gguf.path == tiny_site / "tiny_llm_pkg" / "tiny.F32.gguf"
    assert (gguf.distribution, gguf.version, gguf.file) == ("tiny-llm-pkg", "0.0.1", "tiny.F32.gguf")
    assert len(gguf.sha256) == 64 and gguf.size_bytes == gguf.path.stat().st_size
    assert gguf.metadata["license"] == "apache-2.0" and gguf.metadata["architecture"] == "llama"
    assert tiny_gguf_dataset.exists()


def test_a_missing_package_or_file_is_named():
    with pytest.raises(DatasetError, match="not installed"):
        PackagedGGUFDataset(package="no_such_pkg_here", file="x.gguf", distribution="no-such").load()
    assert not PackagedGGUFDataset(package="no_such_pkg_here", file="x.gguf", distribution="no-such").exists()


def test_the_dataset_is_read_only(tiny_gguf_dataset):
    with pytest.raises(DatasetError, match="read-only"):
        tiny_gguf_dataset.save("anything")


def test_conversion_writes_a_normal_folder_with_the_same_model(tiny_gguf_dataset, tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    gguf = tiny_gguf_dataset.load()
    dataset = PackagedModelDataset(filepath=str(tmp_path / "tiny_model"))
    assert not dataset.exists()
    dataset.save(convert_packaged_model(gguf, packaged_params(name="Tiny-Llama")))
    path = dataset.load()
    folder = tmp_path / "tiny_model"
    assert path == folder.as_posix() and dataset.exists()

    config = json.loads((folder / "config.json").read_text())
    assert config["architectures"] == ["LlamaForCausalLM"] and "quantization_config" not in config
    assert json.loads((folder / "generation_config.json").read_text())["do_sample"] is True
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()

    model = AutoModelForCausalLM.from_pretrained(path)  # the same call a hub id takes
    tokenizer = AutoTokenizer.from_pretrained(path)
    original = AutoModelForCausalLM.from_pretrained(str(gguf.path.parent), gguf_file=gguf.file)
    ids = tokenizer("Name three colours of the rainbow.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        assert torch.allclose(model(ids).logits, original(ids).logits, atol=1e-5)
    assert tokenizer.eos_token == "<|im_end|>" and tokenizer.model_max_length == 128
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], tokenize=False, add_generation_prompt=True
    )
    assert prompt.endswith("<|im_start|>assistant\n")

    card = (folder / "README.md").read_text()
    for fact in ("tiny-llm-pkg==0.0.1", "tiny_llm_pkg/tiny.F32.gguf", "license: apache-2.0", gguf.sha256):
        assert fact in card
    record = json.loads((folder / "conversion.json").read_text())
    assert record["provenance"]["source"]["sha256"] == gguf.sha256 and "converted_at" in record


def test_an_up_to_date_folder_is_not_converted_again(tiny_gguf_dataset, tmp_path):
    gguf = tiny_gguf_dataset.load()
    dataset = PackagedModelDataset(filepath=str(tmp_path / "m"))
    converted = convert_packaged_model(gguf, packaged_params())
    dataset.save(converted)
    stamp = (tmp_path / "m" / "model.safetensors").stat().st_mtime_ns

    def must_not_run():
        raise AssertionError("converted again")

    dataset.save(ConvertedModel(converted.name, converted.provenance, must_not_run))
    assert (tmp_path / "m" / "model.safetensors").stat().st_mtime_ns == stamp
    # Another conversion setting is another folder: converted again.
    dataset.save(convert_packaged_model(gguf, packaged_params(do_sample=False)))
    assert json.loads((tmp_path / "m" / "generation_config.json").read_text()).get("do_sample", False) is False


def test_a_failed_conversion_keeps_the_folder_that_was_there(tiny_gguf_dataset, tmp_path):
    gguf = tiny_gguf_dataset.load()
    dataset = PackagedModelDataset(filepath=str(tmp_path / "m"))
    dataset.save(convert_packaged_model(gguf, packaged_params()))
    before = sorted(p.name for p in (tmp_path / "m").iterdir())

    def broken():
        raise RuntimeError("out of disk")

    changed = {**convert_packaged_model(gguf, packaged_params()).provenance, "licence": "changed"}
    with pytest.raises(DatasetError, match="out of disk"):
        dataset.save(ConvertedModel("m", changed, broken))
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["m"]  # no temporary folder left behind


def test_a_licence_the_file_does_not_declare_is_refused(tiny_gguf_dataset):
    with pytest.raises(ValueError, match="declares licence 'apache-2.0'"):
        convert_packaged_model(tiny_gguf_dataset.load(), packaged_params(licence="mit"))


def test_loading_before_the_conversion_says_how_to_make_it(tmp_path):
    with pytest.raises(DatasetError, match="--pipelines=packaged_model"):
        PackagedModelDataset(filepath=str(tmp_path / "none")).load()


def test_the_pipeline_has_its_node_only_where_the_environment_asks_for_it():
    assert not create_pipeline(enabled=False).nodes
    (node,) = create_pipeline(enabled=True).nodes
    assert node.inputs == ["packaged_model_gguf", "params:packaged_model"] and node.outputs == ["packaged_model"]
