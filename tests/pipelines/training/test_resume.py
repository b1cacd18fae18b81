"""A half-written Trainer checkpoint (a kill during a save) is skipped on resume, and named in the log."""

from __future__ import annotations

import json
import logging

import pytest

from lamini_lm.pipelines.training.launch import train
from lamini_lm.pipelines.training.resume import checkpoint_problem, last_complete_checkpoint

from .test_pipeline import Interrupt, tiny_job


def _safetensors(path, n_bytes: int = 16) -> None:
    header = json.dumps({"w": {"dtype": "F32", "shape": [n_bytes // 4], "data_offsets": [0, n_bytes]}}).encode()
    path.write_bytes(len(header).to_bytes(8, "little") + header + b"\0" * n_bytes)


def _complete(folder) -> None:
    import torch

    folder.mkdir(parents=True)
    _safetensors(folder / "model.safetensors")
    torch.save({"state": {}}, folder / "optimizer.pt")
    (folder / "trainer_state.json").write_text(json.dumps({"global_step": int(folder.name.split("-")[1])}))


@pytest.mark.parametrize(
    "damage, problem",
    [
        (lambda f: (f / "trainer_state.json").unlink(), "no trainer_state.json"),
        (lambda f: (f / "trainer_state.json").write_text('{"global_st'), "trainer_state.json is not valid JSON"),
        (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:-5]), "truncated"),
        (
            lambda f: (f / "optimizer.pt").write_bytes((f / "optimizer.pt").read_bytes()[:40]),
            "optimizer.pt is truncated",
        ),
        (lambda f: (f / "model.safetensors").unlink(), "no model weights"),
    ],
    ids=["no state", "cut state", "cut weights", "cut optimizer", "no weights"],
)
def test_the_last_complete_checkpoint_is_chosen_and_the_skipped_one_named(tmp_path, caplog, damage, problem):
    for step in (2, 4, 6):
        _complete(tmp_path / f"checkpoint-{step}")
    assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-6")
    damage(tmp_path / "checkpoint-6")
    assert problem in checkpoint_problem(tmp_path / "checkpoint-6")
    with caplog.at_level(logging.WARNING):
        assert last_complete_checkpoint(tmp_path) == str(tmp_path / "checkpoint-4")
    assert "checkpoint-6" in caplog.text and problem in caplog.text


def test_no_folder_or_no_complete_checkpoint_starts_from_scratch(tmp_path):
    assert last_complete_checkpoint(tmp_path / "nowhere") is None
    (tmp_path / "checkpoint-2").mkdir()
    assert last_complete_checkpoint(tmp_path) is None


def test_training_resumes_past_a_half_written_checkpoint(lamini_rows, models, hyperparameters, training, caplog):
    job = tiny_job(lamini_rows, models, hyperparameters, training)
    job.callbacks = [Interrupt(at_step=5)]
    with pytest.raises(KeyboardInterrupt):
        train(job)
    latest = job.work_dir / "checkpoints" / "checkpoint-4"
    weights = latest / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])  # killed while saving
    (latest / "trainer_state.json").unlink()

    job.callbacks = []
    with caplog.at_level(logging.WARNING):
        _, metrics = train(job)
    assert metrics["resumed_from_step"] == 2 and metrics["global_step"] == 9
    assert "Skipping incomplete checkpoint" in caplog.text and "checkpoint-4" in caplog.text
