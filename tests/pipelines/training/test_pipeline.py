"""The template instantiated per herd member, run end to end; resume; the 2-process torchrun path."""

from __future__ import annotations

from pathlib import Path

import pytest
from conf_params import conf_block
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from transformers import TrainerCallback

from lamini_lm.datasets import CheckpointDataset
from lamini_lm.herd import SizeClassVariants
from lamini_lm.pipelines.training import nodes
from lamini_lm.pipelines.training.launch import train
from lamini_lm.pipelines.training.params import TrainingParams
from lamini_lm.pipelines.training.pipeline import create_pipeline
from lamini_lm.pipelines.training.trainer import TrainingJob
from lamini_lm.student import Student


def catalog_for(herd_models: dict, lamini_rows, size_classes, training) -> DataCatalog:
    entries = {
        "lamini_dataset": MemoryDataset(lamini_rows),
        "params:size_classes": MemoryDataset(size_classes),
        "params:size_class_variants": MemoryDataset(SizeClassVariants.model_validate({})),
        "params:size_class_variant": MemoryDataset(None),
        "params:training": MemoryDataset(training),
    }
    for name, entry in herd_models.items():
        entries[f"params:models.{name}"] = MemoryDataset(entry)
        entries[f"{name}.base_student"] = MemoryDataset(copy_mode="assign")
    return DataCatalog(entries)


def test_one_namespace_per_member_with_shared_inputs():
    pipe = create_pipeline(herd=["a", "b"])
    assert {n.namespace for n in pipe.nodes} == {"a", "b"}
    assert "a.train_student_node" in {n.name for n in pipe.nodes}
    inputs = pipe.inputs()
    assert inputs == {
        "lamini_dataset",
        "params:size_classes",
        "params:size_class_variants",
        "params:size_class_variant",
        "params:training",
        "params:models.a",
        "params:models.b",
    }
    assert {"a.checkpoint", "a.training_metrics", "b.checkpoint", "b.training_metrics"} <= pipe.outputs()
    assert len(pipe.only_nodes_with_namespaces(["b"]).nodes) == 6
    # The registry adds distillation's data chain (tests/test_registry.py); the template does not import it.
    assert "lamini_dataset" not in pipe.all_outputs()


def test_pipeline_trains_both_families_and_loss_drops(lamini_rows, models, size_classes, training):
    catalog = catalog_for(models, lamini_rows, size_classes, training)
    SequentialRunner().run(create_pipeline(herd=list(models)), catalog)
    for name, family in (("tiny_t5", "seq2seq"), ("tiny_gpt2", "causal")):
        metrics = catalog.load(f"{name}.training_metrics")
        student = catalog.load(f"{name}.checkpoint")
        assert isinstance(student, Student) and student.name == name and student.family == family
        assert metrics["validation_loss_after"] < metrics["validation_loss_before"] - 0.3, metrics
        # 240 rows make megabatches of only 56 examples to sort; the demo's 2,500 rows pad far less.
        assert 0.0 <= metrics["padding_fraction"] < (0.15 if family == "causal" else 0.35), metrics
        assert metrics["train_rows"] > 200 and metrics["global_step"] == metrics["train_rows"] // 8 + (
            metrics["train_rows"] % 8 > 0
        )
        assert student.metadata["validation_loss_after"] == metrics["validation_loss_after"]
        assert metrics["size_class_variant"] is None and student.metadata["hyperparameters"]["size_class"] == "tiny"
        assert student.metadata["training_data"]["instruction_sources"] == {"lamini_sample": 240}
        assert len(student.generate(["Name a colour."], max_new_tokens=4)) == 1
        assert not (Path(training.work_dir_for(name)) / "checkpoints").exists()


class Interrupt(TrainerCallback):
    """Stops the run at a given step, as a crash or a killed job would."""

    def __init__(self, at_step: int):
        self.at_step = at_step

    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == self.at_step:
            raise KeyboardInterrupt("simulated interruption")


def tiny_job(lamini_rows, models, hyperparameters, training, name="tiny_gpt2") -> TrainingJob:
    train_rows, validation_rows = nodes.split_dataset(lamini_rows.head(80), training, name=name)
    tokenizer = nodes.build_tokenizer(train_rows, models[name], name=name)
    tokenized = nodes.tokenize_dataset(train_rows, validation_rows, tokenizer, models[name], hyperparameters, name=name)
    student = nodes.initialise_student(tokenizer, models[name], training, name=name)
    return TrainingJob(
        name=name,
        family=student.family,
        model=student.model,
        tokenizer=tokenizer,
        train=tokenized[0],
        validation=tokenized[1],
        hyperparameters=hyperparameters,
        settings=TrainingParams.model_validate(
            conf_block("training", seed=7, save_steps=2, logging_steps=1, use_cpu=True)
        ),
        work_dir=Path(training.work_dir_for(name)),
    )


def test_resume_from_the_last_saved_step(lamini_rows, models, hyperparameters, training):
    job = tiny_job(lamini_rows, models, hyperparameters, training)
    job.callbacks = [Interrupt(at_step=5)]
    with pytest.raises(KeyboardInterrupt):
        train(job)
    checkpoints = sorted(p.name for p in (job.work_dir / "checkpoints").iterdir())
    assert checkpoints == ["checkpoint-2", "checkpoint-4"]

    job.callbacks = []
    _, metrics = train(job)
    assert metrics["resumed_from_step"] == 4
    assert metrics["global_step"] == 9  # 72 rows / batch 8

    # A different run (other hyper-parameters) never resumes from these checkpoints.
    job.callbacks = [Interrupt(at_step=3)]
    with pytest.raises(KeyboardInterrupt):
        train(job)
    job.callbacks = []
    job.hyperparameters = job.hyperparameters.model_copy(update={"learning_rate": 1e-3})
    _, metrics = train(job)
    assert metrics["resumed_from_step"] == 0


@pytest.mark.slow
def test_two_processes_through_torchrun_give_the_same_checkpoint_layout(
    lamini_rows, models, hyperparameters, training, tmp_path
):
    """The node with ``training.launcher=torchrun``: DDP over gloo in 2 CPU processes."""
    name, entry = "tiny_gpt2", models["tiny_gpt2"]
    train_rows, validation_rows = nodes.split_dataset(lamini_rows.head(80), training, name=name)
    tokenizer = nodes.build_tokenizer(train_rows, entry, name=name)
    tokenized = nodes.tokenize_dataset(train_rows, validation_rows, tokenizer, entry, hyperparameters, name=name)
    layouts, students = [], {}
    for label, settings in (("ddp", {"launcher": "torchrun", "nproc_per_node": 2}), ("single", {})):
        student = nodes.initialise_student(tokenizer, entry, training, name=name)
        run_settings = training.model_copy(update={**settings, "work_dir": str(tmp_path / f"work_{label}")})
        students[label], metrics, _ = nodes.train_student(
            student, *tokenized, train_rows, entry, hyperparameters, run_settings, None, name=name
        )
        assert metrics["world_size"] == (2 if label == "ddp" else 1)
        # 72 rows: 9 steps of 8 in one process; 5 steps of 8 per process x 2 processes.
        assert metrics["global_step"] == (5 if label == "ddp" else 9)
        assert metrics["validation_loss_after"] < metrics["validation_loss_before"]
        CheckpointDataset(filepath=str(tmp_path / label)).save(students[label])
        layouts.append(sorted(p.name for p in (tmp_path / label).iterdir()))
    assert layouts[0] == layouts[1]
    reloaded = CheckpointDataset(filepath=str(tmp_path / "ddp")).load()
    assert reloaded.metadata["validation_loss_after"] == students["ddp"].metadata["validation_loss_after"]
    assert len(reloaded.generate(["Name a colour."], max_new_tokens=3)) == 1
