"""The students, data and settings of the training benchmarks (training_throughput.py, gpu_check.py).

Tiny students (conf/base's shapes) and real-shaped ones: GPT-2-124M, T5-small (60.5M) and T5-base
(223M), built from the published configs with random initialisation (no download), seeded so that
every runner starts from the same weights. Token ids come from a byte-level BPE tokenizer trained on
the first ``rows`` bundled LaMini rows; the maximum length is conf/paper's 512 (the paper publishes
none: our choice, docs/training.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from common import offline  # noqa: F401  (the offline defaults, before the imports below)

# isort: split

import pandas as pd  # noqa: E402

from lamini_lm.herd import ModelSpec, SizeClasses  # noqa: E402
from lamini_lm.parameters import load_parameters  # noqa: E402
from lamini_lm.pipelines.training import nodes  # noqa: E402
from lamini_lm.pipelines.training.launch import train  # noqa: E402
from lamini_lm.pipelines.training.params import TrainingParams  # noqa: E402
from lamini_lm.pipelines.training.tokenize import IGNORE_INDEX, as_records  # noqa: E402
from lamini_lm.pipelines.training.trainer import TrainingJob, training_order  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data" / "01_raw" / "distilled" / "lamini" / "lamini_instruction_10k_fmengine.jsonl"
PARAMETERS = load_parameters("base")  # what the benchmarks do not set comes from conf/base
MAX_LENGTH = load_parameters("paper")["size_classes"]["causal_small"]["max_length"]  # 512, conf/paper's

TINY = {
    "tiny-gpt2": (
        "causal",
        {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 512},
    ),
    "tiny-t5": (
        "seq2seq",
        {
            "model_type": "t5",
            "d_model": 64,
            "d_ff": 128,
            "d_kv": 16,
            "num_heads": 4,
            "num_layers": 2,
            "num_decoder_layers": 2,
            "relative_attention_num_buckets": 16,
        },
    ),
}
# Published shapes (the configs of openai-community/gpt2, google-t5/t5-small, google-t5/t5-base), built here.
REAL = {
    "gpt2-124m": (
        "causal",
        dict(model_type="gpt2", vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12),
    ),
    "t5-small": (
        "seq2seq",
        dict(model_type="t5", vocab_size=32128, d_model=512, d_ff=2048, d_kv=64, num_heads=8, num_layers=6),
    ),
    "t5-base": (
        "seq2seq",
        dict(model_type="t5", vocab_size=32128, d_model=768, d_ff=3072, d_kv=64, num_heads=12, num_layers=12),
    ),
}
SHAPES = {"tiny": TINY, "real": REAL}


def training_settings(**update) -> TrainingParams:
    """conf/base's ``training`` block, CPU, no checkpoints, no resume, with ``update`` on top."""
    return TrainingParams.model_validate(
        {
            **PARAMETERS["training"],
            "seed": 42,
            "validation_fraction": 0.02,
            "max_train_rows": None,
            "max_validation_rows": None,
            "use_cpu": True,
            "save_steps": 10_000,
            "logging_steps": 10_000,
            "resume": False,
            "tracking": False,
            **update,
        }
    )


def hyperparameters(batch: int, steps: int):
    """Batch ``batch``, ``steps`` optimiser steps, learning rate 3e-4, no warm-up, max length 512."""
    size_classes = SizeClasses.model_validate(
        {
            "bench": {
                **PARAMETERS["size_classes"]["tiny"],
                "learning_rate": 3e-4,
                "effective_batch_size": batch,
                "per_device_batch_size": batch,
                "epochs": 1,
                "max_length": MAX_LENGTH,
                "warmup_ratio": 0.0,
                "max_steps": steps,
            }
        }
    )
    return size_classes.for_model("bench", spec("causal", 2048))


def load_rows(n: int) -> pd.DataFrame:
    """The first ``n`` rows of the bundled LaMini sample."""
    rows = []
    with DATA.open(encoding="utf-8") as handle:
        for line in handle:
            instruction, response = json.loads(line)["text"].split("\nResponse: ", 1)
            rows.append({"instruction": instruction, "response": response, "instruction_source": "lamini_sample"})
            if len(rows) == n:
                break
    return pd.DataFrame(rows)


def spec(family: str, vocab: int) -> ModelSpec:
    config = {"model_type": "gpt2"} if family == "causal" else {"model_type": "t5"}
    return ModelSpec.model_validate(
        {
            "family": family,
            "size_class": "bench",
            "config": config,
            "tokenizer": {"vocab_size": vocab, "min_frequency": 2},
        }
    )


def prepare(family: str, rows: pd.DataFrame, vocab: int, hp) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """Tokenizer, tokenised training rows and 8 validation rows (shared by every runner of a family)."""
    entry = spec(family, vocab)
    settings = training_settings()
    train_rows, validation_rows = nodes.split_dataset(rows, settings, name=family)
    tokenizer = nodes.build_tokenizer(train_rows, entry, name=family)
    tokenized = nodes.tokenize_dataset(train_rows, validation_rows, tokenizer, entry, hp, name=family)
    return tokenizer, tokenized[0], tokenized[1].head(8)


def build_model(family: str, config: dict, tokenizer, real: bool):
    """The student, seeded: the same initial weights for every runner."""
    from transformers import GPT2Config, GPT2LMHeadModel, T5Config, T5ForConditionalGeneration, set_seed

    from lamini_lm.pipelines.training.tiny import build_tiny_model

    set_seed(42)
    if not real:
        return build_tiny_model(family, dict(config), tokenizer)
    kwargs = {k: v for k, v in config.items() if k != "model_type"}
    ids = dict(pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id)
    if family == "causal":
        return GPT2LMHeadModel(GPT2Config(**kwargs, bos_token_id=tokenizer.eos_token_id, **ids))
    return T5ForConditionalGeneration(T5Config(**kwargs, decoder_start_token_id=tokenizer.pad_token_id, **ids))


def lengths(train_rows: pd.DataFrame, hp) -> tuple[list[int], list[int], int, int]:
    """What the packing rule reads: encoder and decoder lengths, batch size, max length."""
    return (
        [len(x) for x in train_rows["input_ids"]],
        [len(x) for x in train_rows["labels"]],
        hp.per_device_batch_size,
        hp.max_length,
    )


def consumed_examples(train_rows: pd.DataFrame, family: str, hp) -> list[int]:
    """The training rows the first ``hp.max_steps`` batches of ``launch.train`` hold, in order."""
    records = as_records(train_rows)
    batches = training_order(records, family, hp.per_device_batch_size, 42).batches()[: hp.max_steps]
    return [int(i) for batch in batches for i in batch]


def train_ours(name: str, family: str, model, tokenizer, train_rows, validation, hp, settings: TrainingParams):
    """One run through the project's entry point (``launch.train``); returns ``(model, metrics, loss tokens)``."""
    job = TrainingJob(
        name=name,
        family=family,
        model=model,
        tokenizer=tokenizer,
        train=train_rows,
        validation=validation,
        hyperparameters=hp,
        settings=settings,
        work_dir=Path(settings.work_dir),
    )
    trained, metrics = train(job)
    labels = as_records(train_rows)["labels"]
    loss_tokens = sum(sum(t != IGNORE_INDEX for t in labels[i]) for i in consumed_examples(train_rows, family, hp))
    return trained, metrics, loss_tokens
