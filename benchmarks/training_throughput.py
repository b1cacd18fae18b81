"""Training throughput: length-grouped dynamic batches (and seq2seq packing) vs pad-to-max-length.

Trains the same tiny student (same seeded initialisation) on the same tokenised rows in one process — with the project's
batching (length-grouped order + dynamic padding; for seq2seq also packing, the default, and
grouped without packing) and with the naive baseline (random order, every batch padded to
max_length) — and prints useful (non-pad) tokens per second, their ratio and the padding fraction. Each run trains ``--steps`` optimiser steps of 16 examples drawn from
the same ``--rows`` (batches are shuffled, so they are a sample of the epoch). Both families are measured; the targets (max length 512) are padding
<= 10% and >= 2x the baseline's useful tokens/s.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/training_throughput.py [--rows 2000] [--steps 12] [--family causal]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path

for key, value in {
    "OMP_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}.items():
    os.environ.setdefault(key, value)

import pandas as pd  # noqa: E402
import torch  # noqa: E402

from lamini_lm.herd import ModelSpec, SizeClasses  # noqa: E402
from lamini_lm.parameters import load_parameters  # noqa: E402
from lamini_lm.pipelines.training import nodes  # noqa: E402
from lamini_lm.pipelines.training.launch import train  # noqa: E402
from lamini_lm.pipelines.training.params import TrainingParams  # noqa: E402
from lamini_lm.pipelines.training.trainer import TrainingJob  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "01_raw" / "distilled" / "lamini" / "lamini_instruction_10k_fmengine.jsonl"
PARAMETERS = load_parameters("base")  # what the benchmark does not set comes from conf/base
MODELS = {
    "causal": ModelSpec.model_validate(
        {
            "family": "causal",
            "size_class": "bench",
            "config": {"model_type": "gpt2", "n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 512},
            "tokenizer": {"vocab_size": 2048, "min_frequency": 2},
        }
    ),
    "seq2seq": ModelSpec.model_validate(
        {
            "family": "seq2seq",
            "size_class": "bench",
            "config": {
                "model_type": "t5",
                "d_model": 64,
                "d_ff": 128,
                "d_kv": 16,
                "num_heads": 4,
                "num_layers": 2,
                "num_decoder_layers": 2,
                "relative_attention_num_buckets": 16,
            },
            "tokenizer": {"vocab_size": 2048, "min_frequency": 2},
        }
    ),
}
TRAINING = TrainingParams.model_validate(
    {
        **PARAMETERS["training"],
        "seed": 42,
        "validation_fraction": 0.02,
        "max_train_rows": None,
        "max_validation_rows": None,
        "use_cpu": True,
        "save_steps": 10_000,
        "logging_steps": 50,
    }
)
SIZE_CLASSES = SizeClasses.model_validate(
    {
        "bench": {
            **PARAMETERS["size_classes"]["tiny"],
            "learning_rate": 3e-3,
            "effective_batch_size": 16,
            "per_device_batch_size": 16,
            "epochs": 1,
            "max_length": 512,
            "warmup_ratio": 0.0,
        }
    }
)


def load_rows(n: int) -> pd.DataFrame:
    rows = []
    with DATA.open(encoding="utf-8") as handle:
        for line in handle:
            instruction, response = json.loads(line)["text"].split("\nResponse: ", 1)
            rows.append({"instruction": instruction, "response": response, "instruction_source": "lamini_sample"})
            if len(rows) == n:
                break
    return pd.DataFrame(rows)


def prepare(family: str, rows: pd.DataFrame):
    """Split, tokenizer and tokenised rows: shared by both runs of a family."""
    entry = MODELS[family]
    train_rows, validation_rows = nodes.split_dataset(rows, TRAINING, name=family)
    tokenizer = nodes.build_tokenizer(train_rows, entry, name=family)
    hyperparameters = SIZE_CLASSES.for_model(family, entry)
    tokenized = nodes.tokenize_dataset(train_rows, validation_rows, tokenizer, entry, hyperparameters, name=family)
    return tokenizer, tokenized


# label -> (settings.batching, settings.packing); packing only exists for seq2seq
RUNS = {
    "causal": {"grouped": ("grouped", False), "max_length": ("max_length", False)},
    "seq2seq": {"packed": ("grouped", True), "grouped": ("grouped", False), "max_length": ("max_length", False)},
}


def measure(family: str, tokenizer, tokenized, label: str, steps: int, work: Path) -> dict:
    """One training run of ``steps`` optimiser steps from the same seeded initialisation."""
    entry = MODELS[family]
    batching, packing = RUNS[family][label]
    student = nodes.initialise_student(tokenizer, entry, TRAINING, name=family)
    hyperparameters = SIZE_CLASSES.for_model(family, entry).model_copy(update={"max_steps": steps})
    job = TrainingJob(
        name=family,
        family=family,
        model=student.model,
        tokenizer=tokenizer,
        train=tokenized[0],
        validation=tokenized[1].head(16),
        hyperparameters=hyperparameters,
        settings=TRAINING.model_copy(update={"batching": batching, "packing": packing}),
        work_dir=work / f"{family}_{label}",
    )
    _, metrics = train(job)
    return metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2000, help="rows tokenised and batched (the epoch)")
    parser.add_argument("--steps", type=int, default=12, help="optimiser steps trained per run")
    parser.add_argument("--family", choices=["causal", "seq2seq", "both"], default="both")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    rows = load_rows(args.rows)
    families = ["causal", "seq2seq"] if args.family == "both" else [args.family]
    print(f"rows={args.rows} steps={args.steps} max_length=512 batch=16 threads={torch.get_num_threads()}")
    print(f"{'family':8} {'batching':10} {'padding':>8} {'useful tok/s':>13} {'runtime s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for family in families:
            tokenizer, tokenized = prepare(family, rows)
            results = {b: measure(family, tokenizer, tokenized, b, args.steps, Path(tmp)) for b in RUNS[family]}
            for batching, m in results.items():
                print(
                    f"{family:8} {batching:10} {m['padding_fraction']:8.1%} {m['useful_tokens_per_s']:13.0f} "
                    f"{m['train_runtime_s']:10.1f}"
                )
            default = next(iter(RUNS[family]))  # what training uses by default
            ratio = results[default]["useful_tokens_per_s"] / results["max_length"]["useful_tokens_per_s"]
            padding = results[default]["padding_fraction"]
            verdict = lambda met: "met" if met else "MISSED"  # noqa: E731
            print(
                f"{family:8} {default}: speed-up {ratio:.2f}x useful tokens/s (target >= 2x: {verdict(ratio >= 2)}); "
                f"padding {padding:.1%} (target <= 10%: {verdict(padding <= 0.10)})"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
