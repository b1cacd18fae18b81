"""Evaluation overhead: the pipeline's benchmark node vs lm-evaluation-harness directly, same model and task.

A tiny GPT-2 (built from config, tokenizer trained here, saved to disk) is scored on ARC-Challenge
(bundled data, first --limit documents) three ways:

1. ``lm_eval`` command line: ``lm_eval --model hf --model_args pretrained=<dir> --include_path <tasks>``
   (a fresh process: imports, task indexing, model load, scoring) — the baseline;
2. our node in a fresh process: load the checkpoint, ``evaluate_benchmark`` (imports, normalise, materialise
   the task, HFLM on the in-memory model, scoring);
3. in-process, imports done: ``lm_eval.simple_evaluate(model="hf", pretrained=<dir>)`` vs our node.

The student is scored unwrapped (``benchmark_wrapper: false``), like the command line: the Alpaca wrapper
(on by default for decoder-only members) lengthens every context, which is the model's work, not overhead.
Prints wall times, ratios (target ours / lm_eval <= 1.10) and whether the scores are identical.
Run: ``.venv/bin/python benchmarks/eval_overhead.py [--limit 200] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _key, _value in {
    "OMP_NUM_THREADS": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "KEDRO_DISABLE_TELEMETRY": "1",
}.items():
    os.environ.setdefault(_key, _value)

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
ARC = ROOT / "data/01_raw/benchmarks/arc_challenge/ARC-Challenge-Test.jsonl"
BATCH = 16
BOOT = 100000  # lm-eval's default, as the command line uses

NODE_SCRIPT = """
import json, sys, time
t0 = time.perf_counter()
from transformers import AutoModelForCausalLM, AutoTokenizer
from lamini_lm.student import Student
from lamini_lm.herd import ModelSpec
from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
from lamini_lm.parameters import load_parameters
from lamini_lm.pipelines.evaluation import harness
from lamini_lm.pipelines.evaluation.params import BenchmarkParams
folder, arc, limit, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
student = Student("tiny", "causal", AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder))
docs = harness.prepare_benchmark_docs(BenchmarkSourceDataset(filepath=arc).load(), "arc_challenge")
settings = BenchmarkParams.model_validate(load_parameters("base")["evaluation"]["benchmarks"] | {
    "limit": limit, "backend": "hf", "device": "cpu", "batch_size": batch, "bootstrap_iters": 100000,
    "work_dir": sys.argv[5]})
spec = ModelSpec(family="causal", size_class="tiny", checkpoint=folder, benchmark_wrapper=False)
result = harness.evaluate_benchmark(student, docs, settings, 0, "lamini_arc_challenge.yaml", spec)
print(json.dumps({"value": result["value"], "acc": result["metrics"].get("acc"), "wall": time.perf_counter() - t0}))
"""


def build_model(folder: Path) -> None:
    """A tiny GPT-2 and a byte-level BPE tokenizer trained on ARC questions, saved with save_pretrained."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    texts = [json.loads(line)["question"]["stem"] for line in ARC.read_text().splitlines()[:500]]
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        texts,
        trainers.BpeTrainer(
            vocab_size=1024,
            special_tokens=["<pad>", "</s>", "<unk>"],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")
    torch.manual_seed(0)
    model = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=512,
            n_embd=128,
            n_layer=4,
            n_head=4,
            bos_token_id=1,
            eos_token_id=1,
            pad_token_id=0,
        )
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def unwrapped(folder: str):
    """The member's herd entry with the wrapper off, so that the node asks what the command line asks."""
    from lamini_lm.herd import ModelSpec

    return ModelSpec(family="causal", size_class="tiny", checkpoint=folder, benchmark_wrapper=False)


def timed(command: list[str], env: dict[str, str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT, check=False)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[:3])} failed:\n{done.stderr[-3000:]}")
    return wall, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    python = sys.executable
    lm_eval_cli = str(Path(python).with_name("lm_eval"))

    from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
    from lamini_lm.parameters import load_parameters
    from lamini_lm.pipelines.evaluation import benchmarks as bm
    from lamini_lm.pipelines.evaluation import harness
    from lamini_lm.pipelines.evaluation.params import BenchmarkParams

    with tempfile.TemporaryDirectory() as tmp:
        folder, work_dir, out = Path(tmp) / "model", Path(tmp) / "tasks", Path(tmp) / "out"
        build_model(folder)
        docs = harness.prepare_benchmark_docs(BenchmarkSourceDataset(filepath=str(ARC)).load(), "arc_challenge")
        spec = next(s for s in bm.task_specs() if s.key == "arc_challenge")
        # The folder the node writes and reuses (lm_eval_0_4: conf/base's prompt version).
        tasks = bm.materialise_task(spec, docs["docs"], work_dir, args.limit, "lm_eval_0_4")

        cli = [
            lm_eval_cli,
            "--model",
            "hf",
            "--model_args",
            f"pretrained={folder},dtype=float32",
            "--include_path",
            str(tasks),
            "--tasks",
            spec.lm_eval_task,
            "--limit",
            str(args.limit),
            "--device",
            "cpu",
            "--batch_size",
            str(BATCH),
            "--num_fewshot",
            "0",
            "--output_path",
            str(out),
        ]
        node = [python, "-c", NODE_SCRIPT, str(folder), str(ARC), str(args.limit), str(BATCH), str(work_dir)]
        cli_walls, node_walls, node_value = [], [], None
        for _ in range(args.repeats):  # interleaved, so machine load hits both alike
            cli_walls.append(timed(cli, env)[0])
            wall, stdout = timed(node, env)
            node_walls.append(wall)
            node_value = json.loads(stdout.strip().splitlines()[-1])
        result_file = next(out.rglob("results_*.json"))
        cli_metrics = json.loads(result_file.read_text())["results"][spec.lm_eval_task]

        # In-process, imports and task indexing paid: the node's own overhead around lm-eval.
        import lm_eval
        from lm_eval.tasks import TaskManager
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from lamini_lm.student import Student

        settings = BenchmarkParams.model_validate(
            load_parameters("base")["evaluation"]["benchmarks"]
            | {
                "limit": args.limit,
                "backend": "hf",
                "device": "cpu",
                "batch_size": BATCH,
                "bootstrap_iters": BOOT,
                "work_dir": str(work_dir),
            }
        )
        direct_walls, ours_walls = [], []
        for _ in range(args.repeats):
            start = time.perf_counter()
            direct = lm_eval.simple_evaluate(
                model="hf",
                model_args=f"pretrained={folder},dtype=float32,device=cpu,batch_size={BATCH}",
                tasks=[spec.lm_eval_task],
                task_manager=TaskManager(include_path=str(tasks), include_defaults=False),
                limit=args.limit,
                num_fewshot=0,
                bootstrap_iters=BOOT,
                log_samples=False,
                verbosity="ERROR",
            )
            direct_walls.append(time.perf_counter() - start)
            start = time.perf_counter()
            student = Student(
                "tiny", "causal", AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
            )
            ours = harness.evaluate_benchmark(
                student, docs, settings, 0, "lamini_arc_challenge.yaml", unwrapped(str(folder))
            )
            ours_walls.append(time.perf_counter() - start)
        direct_metrics = direct["results"][spec.lm_eval_task]

    cli_s, node_s = statistics.median(cli_walls), statistics.median(node_walls)
    direct_s, ours_s = statistics.median(direct_walls), statistics.median(ours_walls)
    print(
        f"model: tiny GPT-2 ({sum(p.numel() for p in student.model.parameters()):,} parameters), task: ARC-Challenge, "
        f"{args.limit} docs, batch {BATCH}, CPU, median of {args.repeats}"
    )
    print(f"fresh process   lm_eval CLI        {cli_s:7.2f} s")
    print(f"fresh process   pipeline node      {node_s:7.2f} s   ratio {node_s / cli_s:.3f} (target <= 1.10)")
    print(f"in-process      simple_evaluate    {direct_s:7.2f} s")
    print(f"in-process      pipeline node      {ours_s:7.2f} s   ratio {ours_s / direct_s:.3f} (target <= 1.10)")
    same = (node_value["acc"], node_value["value"]) == (cli_metrics["acc,none"], cli_metrics["acc_norm,none"]) and (
        ours["metrics"]["acc"],
        ours["value"],
    ) == (direct_metrics["acc,none"], direct_metrics["acc_norm,none"])
    print(
        f"scores: CLI acc={cli_metrics['acc,none']:.4f} acc_norm={cli_metrics['acc_norm,none']:.4f} | "
        f"node acc={node_value['acc']:.4f} acc_norm={node_value['value']:.4f} | identical: {same}"
    )
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
