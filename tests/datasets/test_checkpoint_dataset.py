"""CheckpointDataset / TokenizerDataset: round trip, versioning, atomic saves, model card, hub push."""

from __future__ import annotations

import json

import pytest
import torch
from kedro.io.core import DatasetError, Version
from markdown_tables import read_table

from lamini_lm.datasets import CheckpointDataset, CheckpointLoadError, PublishedCheckpointDataset, TokenizerDataset
from lamini_lm.pipelines.training.tiny import build_tiny_model, train_bpe_tokenizer
from lamini_lm.prompting import CAUSAL_WRAPPER
from lamini_lm.student import Student

TEXTS = ["Name a colour. Red.", "List two fruits. Apple and pear.", "Say hello. Hello there!"] * 10


def make_student(family: str = "causal", seed: int = 0) -> Student:
    torch.manual_seed(seed)
    tokenizer = train_bpe_tokenizer(TEXTS, vocab_size=300, family=family)
    config = (
        {"model_type": "gpt2", "n_embd": 16, "n_layer": 1, "n_head": 2, "n_positions": 256}
        if family == "causal"
        else {"model_type": "t5", "d_model": 16, "d_ff": 32, "d_kv": 8, "num_heads": 2, "num_layers": 1}
    )
    model = build_tiny_model(family, config, tokenizer)
    metadata = {
        "base_model": "gpt2 built from config",
        "hyperparameters": {"learning_rate": 0.001, "max_length": 64},
        "training_data": {
            "dataset": "lamini_dataset",
            "train_rows": 30,
            "validation_rows": 3,
            "instruction_sources": {"alpaca": 30},
            "teacher_models": ["gpt-3.5-turbo"],
        },
        "validation_loss_before": 5.7,
        "validation_loss_after": 3.2,
    }
    return Student(name=f"tiny_{family}", family=family, model=model, tokenizer=tokenizer, metadata=metadata)


@pytest.mark.parametrize("family", ["causal", "seq2seq"])
def test_round_trip_gives_a_student_that_generates_the_same(tmp_path, family):
    student = make_student(family)
    dataset = CheckpointDataset(filepath=str(tmp_path / "ckpt"))
    assert not dataset.exists()
    dataset.save(student)
    assert dataset.exists()
    loaded = dataset.load()
    assert (loaded.name, loaded.family) == (student.name, family)
    assert loaded.metadata == student.metadata
    for key, value in student.model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key]), key
    prompts = ["Name a colour."]
    assert loaded.generate(prompts, max_new_tokens=5) == student.generate(prompts, max_new_tokens=5)
    assert loaded.tokenizer("Say hello.")["input_ids"] == student.tokenizer("Say hello.")["input_ids"]


def test_folder_layout_and_model_card(tmp_path):
    student = make_student("causal")
    CheckpointDataset(filepath=str(tmp_path / "ckpt")).save(student)
    files = {p.name for p in (tmp_path / "ckpt").iterdir()}
    assert {"config.json", "model.safetensors", "tokenizer.json", "student.json", "README.md"} <= files
    card = (tmp_path / "ckpt" / "README.md").read_text()
    assert card.startswith("---\nlicense: cc-by-nc-4.0")
    assert "pipeline_tag: text-generation" in card
    assert CAUSAL_WRAPPER in card
    header, rows = read_table(card.split("## Hyper-parameters")[1].split("## ", maxsplit=1)[0])
    assert header == ["parameter", "value"] and dict(rows) == {"learning_rate": "0.001", "max_length": "64"}
    assert "- before training: 5.7000" in card and "- after training: 3.2000" in card
    assert "gpt-3.5-turbo" in card and "alpaca (30)" in card
    info = json.loads((tmp_path / "ckpt" / "student.json").read_text())
    assert info["family"] == "causal" and info["metadata"]["validation_loss_after"] == 3.2


def test_versioned_saves_keep_every_version_and_load_the_latest(tmp_path):
    first, second = make_student(seed=1), make_student(seed=2)
    CheckpointDataset(filepath=str(tmp_path / "m"), version=Version(None, "2026-01-01T00.00.00.000Z")).save(first)
    CheckpointDataset(filepath=str(tmp_path / "m"), version=Version(None, "2026-01-02T00.00.00.000Z")).save(second)
    assert (tmp_path / "m" / "2026-01-01T00.00.00.000Z" / "m" / "student.json").is_file()
    latest = CheckpointDataset(filepath=str(tmp_path / "m"), version=Version(None, None)).load()
    weight = "transformer.wte.weight"
    assert torch.equal(latest.model.state_dict()[weight], second.model.state_dict()[weight])
    old = CheckpointDataset(filepath=str(tmp_path / "m"), version=Version("2026-01-01T00.00.00.000Z", None)).load()
    assert torch.equal(old.model.state_dict()[weight], first.model.state_dict()[weight])


def test_a_failed_save_leaves_the_good_checkpoint_and_no_debris(tmp_path, monkeypatch):
    good = make_student(seed=1)
    dataset = CheckpointDataset(filepath=str(tmp_path / "ckpt"))
    dataset.save(good)
    before = {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()}

    broken = make_student(seed=2)

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(broken.tokenizer, "save_pretrained", crash)
    with pytest.raises(DatasetError, match="disk full"):
        dataset.save(broken)
    assert {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_loading_a_missing_or_foreign_folder_says_what_is_wrong(tmp_path):
    with pytest.raises(DatasetError, match="no folder at"):
        CheckpointDataset(filepath=str(tmp_path / "nothing")).load()
    (tmp_path / "plain").mkdir()
    with pytest.raises(DatasetError, match="student.json"):
        CheckpointDataset(filepath=str(tmp_path / "plain")).load()
    with pytest.raises(DatasetError, match="saves a lamini_lm.student.Student"):
        CheckpointDataset(filepath=str(tmp_path / "x")).save("not a student")


def test_push_to_hub_is_off_by_default_and_uploads_the_saved_folder(tmp_path, monkeypatch):
    calls = []

    class FakeApi:
        def create_repo(self, **kwargs):
            calls.append(("create_repo", kwargs))

        def upload_folder(self, **kwargs):
            calls.append(("upload_folder", kwargs))

    monkeypatch.setattr("huggingface_hub.HfApi", FakeApi)
    student = make_student()
    CheckpointDataset(filepath=str(tmp_path / "a")).save(student)
    assert calls == []
    CheckpointDataset(filepath=str(tmp_path / "b"), push_to_hub={"repo_id": "me/tiny"}).save(student)
    assert calls[0] == ("create_repo", {"repo_id": "me/tiny", "exist_ok": True, "private": True})
    assert calls[1][1]["folder_path"] == str(tmp_path / "b") and calls[1][1]["repo_id"] == "me/tiny"


def test_tokenizer_dataset_round_trip(tmp_path):
    tokenizer = train_bpe_tokenizer(TEXTS, vocab_size=300, family="seq2seq")
    dataset = TokenizerDataset(filepath=str(tmp_path / "tok"))
    dataset.save(tokenizer)
    loaded = dataset.load()
    assert loaded("Say hello.")["input_ids"] == tokenizer("Say hello.")["input_ids"]
    assert loaded.pad_token_id == 0 and loaded.eos_token_id == 1


def test_on_load_error_return_hands_the_error_to_the_node_instead_of_stopping(tmp_path):
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "student.json").write_text('{"name": "x", "family": "causal"}')  # no weights
    loaded = CheckpointDataset(filepath=str(tmp_path / "broken"), on_load_error="return").load()
    assert isinstance(loaded, CheckpointLoadError)
    assert "broken" in str(loaded) and "failed to load" in str(loaded)
    with pytest.raises(Exception):  # noqa: B017 - whatever transformers raises for missing weights
        CheckpointDataset(filepath=str(tmp_path / "broken")).load()
    with pytest.raises(DatasetError, match="on_load_error"):
        CheckpointDataset(filepath=str(tmp_path / "x"), on_load_error="ignore")


@pytest.mark.parametrize("family", ["causal", "seq2seq"])
def test_published_checkpoint_loads_plain_save_pretrained_weights_read_only(tmp_path, family):
    student = make_student(family)
    folder = tmp_path / "released"  # what a hub repo holds: save_pretrained output, no student.json
    student.model.save_pretrained(folder)
    student.tokenizer.save_pretrained(folder)
    dataset = PublishedCheckpointDataset(name_or_path=str(folder), family=family)
    loaded = dataset.load()
    assert (loaded.name, loaded.family) == ("released", family)
    assert loaded.metadata == {"published_checkpoint": str(folder)}
    for key, value in student.model.state_dict().items():
        assert torch.equal(value, loaded.model.state_dict()[key]), key
    with pytest.raises(DatasetError, match="read-only"):
        dataset.save(loaded)


def test_published_checkpoint_errors_name_the_checkpoint(tmp_path):
    with pytest.raises(DatasetError, match="family must be"):
        PublishedCheckpointDataset(name_or_path="MBZUAI/LaMini-Flan-T5-783M", family="t5")
    missing = PublishedCheckpointDataset(
        name_or_path=str(tmp_path / "nowhere"), family="causal", on_load_error="return"
    )
    problem = missing.load()
    assert isinstance(problem, CheckpointLoadError) and "nowhere" in str(problem)
