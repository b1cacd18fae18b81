"""The lm-evaluation-harness adapter: one herd member on one zero-shot benchmark task."""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from lamini_lm.herd import ModelSpec
from lamini_lm.pipelines.evaluation import benchmarks as bm
from lamini_lm.pipelines.evaluation.normalisers import normalise_docs
from lamini_lm.pipelines.evaluation.outcome import Status, student_problem
from lamini_lm.pipelines.evaluation.params import BenchmarkParams
from lamini_lm.prompting import CAUSAL_WRAPPER

logger = logging.getLogger(__name__)


def uses_wrapper(model_spec: ModelSpec | None, family: str) -> bool:
    """Whether a member's benchmark requests go through the Alpaca wrapper: its ``benchmark_wrapper``,
    or by default the family's rule (decoder-only LaMini students on, encoder-decoder off)."""
    if model_spec is not None and model_spec.benchmark_wrapper is not None:
        return model_spec.benchmark_wrapper
    return (model_spec.family if model_spec is not None else family) == "causal"


def _wrapped_lm_class() -> type:
    from lm_eval.api.model import LM

    class WrappedLM(LM):
        """An lm-eval model whose every request's context is put in the Alpaca wrapper first.

        What the authors' fork does (afaji/lm-evaluation-harness @ 2e5dac4, ``lm_eval/evaluator.py``): after
        a task builds its requests, ``r.args = (prompt_wrap.format_map({"instruction": r.args[0]}), r.args[1])``
        — the context (zero-shot: the task's ``doc_to_text``; for WinoGrande/WSC273 the sentence up to the
        option) becomes the instruction, the continuation is scored unchanged after ``### Response:``.
        Everything else is the wrapped model's.
        """

        def __init__(self, inner: Any, template: str = CAUSAL_WRAPPER) -> None:
            super().__init__()
            self.inner = inner
            self.template = template

        def wrap(self, requests: list[Any]) -> list[Any]:
            return [
                dataclasses.replace(r, arguments=(self.template.format(instruction=r.args[0]), *r.args[1:]))
                for r in requests
            ]

        def loglikelihood(self, requests: list[Any], **kwargs: Any) -> list[Any]:
            return self.inner.loglikelihood(self.wrap(requests), **kwargs)

        def generate_until(self, requests: list[Any], **kwargs: Any) -> list[Any]:
            return self.inner.generate_until(self.wrap(requests), **kwargs)

        def loglikelihood_rolling(self, requests: list[Any], **kwargs: Any) -> list[Any]:
            raise ValueError("perplexity requests have no context to put in the instruction wrapper")

        def __getattr__(self, name: str) -> Any:  # batch sizes, model info, tokenizer, ...
            if "inner" not in self.__dict__:
                raise AttributeError(name)
            return getattr(self.__dict__["inner"], name)

        rank = property(lambda self: self.inner.rank)
        world_size = property(lambda self: self.inner.world_size)
        device = property(lambda self: self.inner.device)

        def all_gather(self, tensor: Any) -> Any:
            return self.inner.all_gather(tensor)

        def gather_object(self, obj: Any, dst: int = 0) -> Any:
            return self.inner.gather_object(obj, dst)

        def barrier(self) -> None:
            self.inner.barrier()

    return WrappedLM


def wrap_requests(lm: Any, template: str = CAUSAL_WRAPPER) -> Any:
    """``lm`` with every request's context in the instruction wrapper (``WrappedLM``)."""
    return _wrapped_lm_class()(lm, template)


def prepare_benchmark_docs(raw: dict[str, Any], data_key: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """Normalise one benchmark's raw records into its task YAML's schema (or say why not).

    A file the dataset could not read (``raw["error"]``: a malformed line, a byte that is not UTF-8, no
    records) gives ``reason`` ``bad data: <file>, line <n>: ...``: that benchmark is reported as an error
    for every member and the others are scored. ``schema``: the task file's ``columns``/``label_map`` for
    data without a normaliser in code (:func:`~lamini_lm.pipelines.evaluation.benchmarks.document_schema`).
    """
    if raw.get("error"):
        logger.error("Benchmark %s: %s", data_key, raw["error"])
        return {"data": data_key, "source": raw.get("source"), "docs": None, "reason": f"bad data: {raw['error']}"}
    if raw.get("records") is None:
        return {"data": data_key, "source": None, "docs": None, "reason": Status.NO_DATA.prefix(raw.get("reason"))}
    try:
        docs = normalise_docs(data_key, raw, schema)
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
    student: Any,
    docs: dict[str, Any],
    settings: BenchmarkParams,
    seed: int,
    task_file: str,
    model_spec: ModelSpec | None = None,
) -> dict[str, Any]:
    """Score one herd member on one task (``task_file``: a file name in the package's ``tasks/`` or in a folder
    of ``settings.task_dirs``, :func:`~lamini_lm.pipelines.evaluation.benchmarks.task_file_path`) through lm-eval.

    ``model_spec`` (the member's herd entry) decides whether its requests are wrapped (:func:`uses_wrapper`;
    without it, the student's family decides). Returns ``model, task, metric, value, status, reason,
    n_docs, seconds``, how it was asked (``prompt_version``, ``wrapper``) and whether the task is one of
    the paper's 15 (``paper_task``); ``status`` is ``ok``, ``no data``, ``skipped`` or ``error`` (with the
    reason: bad task file, bad data, failed checkpoint or an lm-eval error).
    """
    started = time.perf_counter()
    key = Path(task_file).stem.removeprefix("lamini_")
    wrapper = uses_wrapper(model_spec, getattr(student, "family", ""))
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
        "prompt_version": settings.prompt_version,
        "wrapper": wrapper,
        "paper_task": None,
        "metrics": {},
    }
    try:
        spec = bm.read_task_spec(bm.task_file_path(task_file, settings.task_dirs))
        result.update(task=spec.key, metric=spec.metric, paper_name=spec.paper_name, paper_task=spec.paper_task)
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
        include_dir = bm.materialise_task(spec, docs["docs"], work_dir, settings.limit, settings.prompt_version)
        with tempfile.TemporaryDirectory(prefix=f"lamini-eval-{spec.key}-") as tmp:
            lm = lm_eval_model(student, settings, Path(tmp))
            if wrapper:
                lm = wrap_requests(lm)
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
