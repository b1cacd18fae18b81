"""The lm-evaluation-harness adapter: one herd member on one zero-shot benchmark task."""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from lamini_lm.pipelines.evaluation import benchmarks as bm
from lamini_lm.pipelines.evaluation.normalisers import normalise_docs
from lamini_lm.pipelines.evaluation.outcome import Status, student_problem
from lamini_lm.pipelines.evaluation.params import BenchmarkParams

logger = logging.getLogger(__name__)


def prepare_benchmark_docs(raw: dict[str, Any], data_key: str) -> dict[str, Any]:
    """Normalise one benchmark's raw records into its task YAML's schema (or say why not)."""
    if raw.get("records") is None:
        return {"data": data_key, "source": None, "docs": None, "reason": Status.NO_DATA.prefix(raw.get("reason"))}
    try:
        docs = normalise_docs(data_key, raw)
    except (ValueError, KeyError) as err:
        logger.error("Benchmark %s: %s", data_key, err)
        return {"data": data_key, "source": raw.get("source"), "docs": None, "reason": f"bad data: {err}"}
    return {"data": data_key, "source": raw.get("source"), "docs": docs, "reason": None}


def lm_eval_model(student: Any, settings: BenchmarkParams, workdir: Path) -> Any:
    """The lm-eval model for ``student``: in-memory ``HFLM`` or, on GPUs, lm-eval's own scale-out."""
    family = "seq2seq" if student.family == "seq2seq" else "causal"
    sizes = {"batch_size": settings.batch_size, "max_length": settings.max_length}
    if settings.backend == "hf":
        from lm_eval.models.huggingface import HFLM

        model = student.model.to(settings.device)
        return HFLM(pretrained=model, tokenizer=student.tokenizer, backend=family, device=settings.device, **sizes)
    # Multi-device backends load from disk: save the checkpoint once, then hand lm-eval the folder.
    folder = workdir / "checkpoint"
    student.model.save_pretrained(folder)
    student.tokenizer.save_pretrained(folder)
    if settings.backend == "hf_parallelize":  # accelerate's device map across all visible GPUs
        from lm_eval.models.huggingface import HFLM

        # ``device`` is where inputs go (the device map's first layer).
        return HFLM(pretrained=str(folder), backend=family, parallelize=True, device=settings.device, **sizes)
    if family != "causal":
        raise ValueError(f"backend 'vllm' serves decoder-only models; '{student.name}' is {family}.")
    try:
        from lm_eval.models.vllm_causallms import VLLM
    except ImportError as err:
        raise ImportError(f"backend 'vllm' needs vLLM on a GPU machine (pip install vllm): {err}") from err
    return VLLM(pretrained=str(folder), **sizes, **settings.vllm)


def run_lm_eval(lm: Any, spec: bm.TaskSpec, include_dir: Path, settings: BenchmarkParams, seed: int) -> dict[str, Any]:
    """``lm_eval.simple_evaluate`` on one materialised task; returns lm-eval's metrics for it."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(include_dir), include_defaults=False, verbosity="ERROR")
    output = lm_eval.simple_evaluate(
        model=lm,
        tasks=[spec.lm_eval_task],
        task_manager=manager,
        num_fewshot=0,
        limit=settings.limit,
        bootstrap_iters=settings.bootstrap_iters,
        log_samples=False,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        verbosity="ERROR",
    )
    return output["results"][spec.lm_eval_task]


def evaluate_benchmark(
    student: Any, docs: dict[str, Any], settings: BenchmarkParams, seed: int, task_file: str
) -> dict[str, Any]:
    """Score one herd member on one task (``tasks/<task_file>``) through lm-eval.

    Returns ``model, task, metric, value, status, reason, n_docs, seconds`` where ``status`` is
    ``ok``, ``no data``, ``skipped`` or ``error`` (with the reason: bad task file, bad data, failed
    checkpoint or an lm-eval error).
    """
    started = time.perf_counter()
    key = Path(task_file).stem.removeprefix("lamini_")
    result: dict[str, Any] = {
        "model": getattr(student, "name", None),
        "task": key,
        "metric": None,
        "value": None,
        "stderr": None,
        "status": Status.ERROR,
        "reason": None,
        "n_docs": None,
        "source": docs.get("source"),
        "metrics": {},
    }
    try:
        spec = bm.read_task_spec(bm.TASKS_DIR / task_file)
        result.update(task=spec.key, metric=spec.metric, paper_name=spec.paper_name)
    except (OSError, ValueError) as err:
        return result | {"reason": f"bad task file: {err}", "seconds": time.perf_counter() - started}
    if spec.key in settings.skip:
        return result | {
            "status": Status.SKIPPED,
            "reason": "listed in params evaluation.benchmarks.skip",
            "seconds": 0.0,
        }
    if docs.get("docs") is None:
        reason = docs.get("reason") or Status.NO_DATA.value
        status = Status.NO_DATA if Status.of(reason) is Status.NO_DATA else Status.ERROR
        return result | {"status": status, "reason": reason, "seconds": 0.0}
    problem = student_problem(student)
    if problem:
        return result | {"reason": problem, "seconds": 0.0}
    try:
        work_dir = Path(settings.work_dir or Path(tempfile.gettempdir()) / "lamini_lm_tasks")
        include_dir = bm.materialise_task(spec, docs["docs"], work_dir, settings.limit)
        with tempfile.TemporaryDirectory(prefix=f"lamini-eval-{spec.key}-") as tmp:
            lm = lm_eval_model(student, settings, Path(tmp))
            metrics = run_lm_eval(lm, spec, include_dir, settings, seed)
    except Exception as err:  # noqa: BLE001 - reported per (model, task), the herd goes on
        logger.exception("Benchmark %s on %s failed", spec.key, result["model"])
        return result | {
            "reason": f"lm-eval failed: {type(err).__name__}: {err}",
            "seconds": time.perf_counter() - started,
        }
    value = metrics.get(f"{spec.metric},none")
    stderr = metrics.get(f"{spec.metric}_stderr,none")
    clean = {k.split(",")[0]: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and "," in k}
    return result | {
        "value": float(value) if value is not None else None,
        "stderr": float(stderr) if isinstance(stderr, (int, float)) else None,
        "status": Status.OK if value is not None else Status.ERROR,
        "reason": None if value is not None else f"lm-eval reported no '{spec.metric}' ({sorted(metrics)})",
        "n_docs": int(metrics.get("sample_len", 0) or 0) or min(len(docs["docs"]), settings.limit or 10**9),
        "metrics": clean,
        "seconds": time.perf_counter() - started,
    }
