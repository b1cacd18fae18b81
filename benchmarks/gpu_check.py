"""GPU check: real-shaped students trained in bf16 through the project's entry point, MFU, one lm-eval score.

For each of the GPT-2-124M- and T5-base-shaped students (random initialisation from the published
configs, ``benchmarks/common/training_students.py``, shared with ``training_throughput.py``): ``--steps`` optimiser steps through
``lamini_lm.pipelines.training.launch.train`` (conf/base's training block: length-grouped batches, ``training.packing: auto``,
``training.loss_on_labels_only``), bf16 autocast on CUDA (``ACCELERATE_MIXED_PRECISION=bf16``,
what ``accelerate launch --mixed_precision bf16`` sets). Prints useful tokens/s and model FLOPs
utilisation: the model FLOPs of the real (non-pad) tokens trained (6 x matmul parameters per token
plus attention over each example's own length, forward + backward) per second, over the bf16 dense
peak (``--peak-tflops``; 989 for the H200, NVIDIA's H200 spec sheet: 1,979 TFLOPS bf16 with
sparsity). Then scores the trained GPT-2-shaped student on ARC-Challenge (bundled data, first
``--limit`` documents) through the evaluation pipeline's lm-eval node on the same device.

``--shapes tiny --steps 2`` runs the same path on CPU in about a minute (the tiny students).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "src"))

import common.training_students as bench  # noqa: E402  (sets the offline/thread environment first)

ARC = HERE.parent / "data/01_raw/benchmarks/arc_challenge/ARC-Challenge-Test.jsonl"
SHAPES = {"real": ["gpt2-124m", "t5-base"], "tiny": ["tiny-gpt2", "tiny-t5"]}


def model_flops(config, family: str, sources: list[int], targets: list[int]) -> float:
    """Training FLOPs (forward + backward = 3 x forward) of examples of these lengths, no padding."""
    total = 0.0
    if family == "causal":
        d, layers = config.n_embd, config.n_layer
        matmul = layers * 12 * d * d + d * config.vocab_size  # per token: attention + MLP projections, LM head
        for n in sources:  # causal: each token attends to the ones before it
            total += 3 * (2 * matmul * n + layers * 2 * d * n * n)
        return total
    d, inner, ff = config.d_model, config.num_heads * config.d_kv, config.d_ff
    enc, dec = config.num_layers, config.num_decoder_layers
    per_source = enc * (4 * d * inner + 2 * d * ff) + dec * 2 * d * inner  # + cross-attention K, V
    per_target = dec * (6 * d * inner + 2 * d * ff) + d * config.vocab_size
    for s, t in zip(sources, targets):
        attention = enc * 4 * inner * s * s + dec * (2 * inner * t * t + 4 * inner * t * s)
        total += 3 * (2 * per_source * s + 2 * per_target * t + attention)
    return total


def train_one(name: str, real: bool, args, device_is_cuda: bool, tmp: Path) -> dict:
    family, config = bench.SHAPES["real" if real else "tiny"][name]
    hp = bench.hyperparameters(args.batch, args.steps)
    rows = bench.load_rows(args.rows)
    tokenizer, train_rows, validation = bench.prepare(family, rows, args.vocab, hp)
    model = bench.build_model(family, config, tokenizer, real)
    settings = bench.training_settings(work_dir=str(tmp / name), use_cpu=not device_is_cuda)
    trained, metrics, _ = bench.train_ours(name, family, model, tokenizer, train_rows, validation, hp, settings)
    consumed = bench.consumed_examples(train_rows, family, hp)
    sources = [len(train_rows["input_ids"].iloc[i]) for i in consumed]
    targets = [len(train_rows["labels"].iloc[i]) for i in consumed]
    flops = model_flops(model.config, family, sources, targets)
    achieved = flops / metrics["train_runtime_s"]
    return {
        "model": name,
        "parameters_M": round(sum(p.numel() for p in model.parameters()) / 1e6, 1),
        "steps": metrics["global_step"],
        "packing": metrics["packing"],
        "loss_on_labels_only": metrics["loss_on_labels_only"],
        "padding": metrics["padding_fraction"],
        "train_runtime_s": metrics["train_runtime_s"],
        "useful_tokens_per_s": metrics["useful_tokens_per_s"],
        "model_tflops_per_s": float(f"{achieved / 1e12:.4g}"),
        "mfu": float(f"{achieved / (args.peak_tflops * 1e12):.4g}"),
        "loss_before_after": [round(metrics["validation_loss_before"], 3), round(metrics["validation_loss_after"], 3)],
        "_student": (trained, tokenizer, family),
    }


def score_arc(student, device: str, limit: int, tmp: Path) -> dict:
    from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
    from lamini_lm.herd import ModelSpec
    from lamini_lm.parameters import load_parameters
    from lamini_lm.pipelines.evaluation import harness
    from lamini_lm.pipelines.evaluation.params import BenchmarkParams
    from lamini_lm.student import Student

    model, tokenizer, family = student
    docs = harness.prepare_benchmark_docs(BenchmarkSourceDataset(filepath=str(ARC)).load(), "arc_challenge")
    settings = BenchmarkParams.model_validate(
        load_parameters("base")["evaluation"]["benchmarks"]
        | {"limit": limit, "backend": "hf", "device": device, "batch_size": 32, "work_dir": str(tmp / "eval")}
    )
    spec = ModelSpec(family=family, size_class="bench", checkpoint=str(tmp), benchmark_wrapper=False)
    started = time.perf_counter()
    result = harness.evaluate_benchmark(
        Student("student", family, model, tokenizer), docs, settings, 0, "lamini_arc_challenge.yaml", spec
    )
    return {
        "task": result["task"],
        "status": str(result["status"]),
        "reason": result["reason"],
        "metric": result["metric"],
        "value": result["value"],
        "n_docs": result["n_docs"],
        "seconds": round(time.perf_counter() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", choices=list(SHAPES), default="real")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--vocab", type=int, default=8192)
    parser.add_argument("--limit", type=int, default=500, help="ARC-Challenge documents scored")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="bf16 dense peak of the GPU")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here too")
    args = parser.parse_args()
    import torch
    import transformers

    cuda = torch.cuda.is_available()
    if cuda:
        os.environ["ACCELERATE_MIXED_PRECISION"] = "bf16"
        torch.backends.cuda.matmul.allow_tf32 = True
    device = "cuda" if cuda else "cpu"
    header = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "device": torch.cuda.get_device_name(0) if cuda else "cpu",
        "precision": "bf16 autocast" if cuda else "fp32 (CPU)",
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "steps": args.steps,
        "batch": args.batch,
        "peak_tflops": args.peak_tflops,
    }
    print(json.dumps(header), flush=True)
    results: dict = {"header": header, "training": [], "evaluation": None}
    with tempfile.TemporaryDirectory() as tmp:
        students = {}
        for name in SHAPES[args.shapes]:
            row = train_one(name, args.shapes == "real", args, cuda, Path(tmp))
            students[name] = row.pop("_student")
            results["training"].append(row)
            print(json.dumps(row), flush=True)
        causal = next(name for name in SHAPES[args.shapes] if "gpt2" in name)
        results["evaluation"] = score_arc(students[causal], device, args.limit, Path(tmp))
        print(json.dumps(results["evaluation"]), flush=True)
    print(f"\n{'model':12} {'steps':>5} {'packing':>7} {'useful tok/s':>13} {'model TFLOP/s':>14} {'MFU':>8}")
    for row in results["training"]:
        print(
            f"{row['model']:12} {row['steps']:5d} {str(row['packing']):>7} {row['useful_tokens_per_s']:13.0f} "
            f"{row['model_tflops_per_s']:14.4g} {row['mfu']:8.3%}"
        )
    ev = results["evaluation"]
    print(
        f"lm-eval {ev['task']} ({ev['n_docs']} docs, {device}): {ev['metric']} = {ev['value']} [{ev['status']}] {ev['seconds']} s"
    )
    if args.out:
        args.out.write_text(json.dumps(results, indent=2))
    return 0 if ev["status"] == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
