"""Fixtures of the training tests: a few real LaMini rows, tiny model entries, fast settings.

Parameters come from conf/base (``conf_block``) with what the tests need smaller or faster on top.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.herd import Hyperparameters, ModelSpec, SizeClasses
from lamini_lm.pipelines.training.params import TrainingParams

# Smaller than conf/base's tiny students; the whole `config` replaces conf's.
TINY_T5_CONFIG = {
    "model_type": "t5",
    "d_model": 32,
    "d_ff": 64,
    "d_kv": 8,
    "num_heads": 4,
    "num_layers": 2,
    "num_decoder_layers": 2,
    "relative_attention_num_buckets": 8,
}
TINY_GPT2_CONFIG = {"model_type": "gpt2", "n_embd": 32, "n_layer": 2, "n_head": 4, "n_positions": 128}


def model_spec(name: str, config: dict, **overrides) -> ModelSpec:
    """conf/base's ``models.<name>`` with ``config`` replaced and a 400-token tokenizer."""
    entry = conf_block(f"models.{name}", tokenizer={"vocab_size": 400}, **overrides)
    return ModelSpec.model_validate({**entry, "config": json.loads(json.dumps(config))})


@pytest.fixture(scope="session")
def lamini_rows(raw_data) -> pd.DataFrame:
    """The first 300 rows of the bundled LaMini sample, split as the distillation pipeline does."""
    path = raw_data / "distilled" / "lamini" / "lamini_instruction_10k_fmengine.jsonl"
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            instruction, response = json.loads(line)["text"].split("\nResponse: ", 1)
            rows.append({"instruction": instruction, "response": response})
            if len(rows) == 300:
                break
    frame = pd.DataFrame(rows)
    frame["instruction_source"] = "lamini_sample"
    frame["teacher_model"] = "gpt-3.5-turbo"
    return frame


@pytest.fixture
def models() -> dict[str, ModelSpec]:
    return {"tiny_t5": model_spec("tiny_t5", TINY_T5_CONFIG), "tiny_gpt2": model_spec("tiny_gpt2", TINY_GPT2_CONFIG)}


@pytest.fixture
def size_classes() -> SizeClasses:
    tiny = conf_block(
        "size_classes.tiny",
        learning_rate=5e-3,
        effective_batch_size=8,
        per_device_batch_size=8,
        epochs=1,
        max_length=96,
        warmup_ratio=0.0,
    )
    return SizeClasses.model_validate({"tiny": tiny})


@pytest.fixture
def hyperparameters(models, size_classes) -> Hyperparameters:
    """The tiny students' resolved hyper-parameters (both use size class ``tiny``, no overrides)."""
    return size_classes.for_model("tiny_t5", models["tiny_t5"])


@pytest.fixture
def training(tmp_path) -> TrainingParams:
    return TrainingParams.model_validate(
        conf_block(
            "training",
            seed=7,
            validation_fraction=0.1,
            max_train_rows=240,
            max_validation_rows=24,
            work_dir=str(tmp_path / "work" / "{model}_work"),
            save_steps=1000,
            logging_steps=5,
            launcher="none",
        )
    )
