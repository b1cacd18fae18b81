"""Evaluation nodes: one herd member on the paper's benchmarks, judged instructions, hallucination,
toxicity and distillation fidelity. Every node returns a result with a ``status`` instead of failing
the run, so one broken checkpoint, task file or judge does not stop the rest of the herd.
"""

from __future__ import annotations

import logging
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation import benchmarks as bm
from lamini_lm.pipelines.evaluation import fidelity, hallucination, judge, toxicity
from lamini_lm.prompting import fold_input

logger = logging.getLogger(__name__)

NOT_SCORED = "not scored"


# --------------------------------------------------------------------------- helpers


def _student_problem(student: Any) -> str | None:
    """Why ``student`` cannot be evaluated (a failed load, a wrong object), or None."""
    if isinstance(student, BaseException):
        return f"checkpoint failed to load: {type(student).__name__}: {student}"
    for attribute in ("name", "family", "model", "tokenizer", "generate"):
        if not hasattr(student, attribute):
            return f"checkpoint is not a Student (no '{attribute}'): got {type(student).__name__}"
    return None


def _max_input_length(student: Any, generation: dict[str, Any]) -> int:
    """Longest prompt that still leaves room for ``max_new_tokens`` in a causal model's positions."""
    requested = int(generation.get("max_input_length", 512))
    if student.family != "causal":
        return requested
    config = getattr(student.model, "config", None)
    positions = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
    if not positions:
        return requested
    return max(8, min(requested, int(positions) - int(generation.get("max_new_tokens", 128))))


def _generate(student: Any, prompts: list[str], generation: dict[str, Any], what: str) -> list[str]:
    """``Student.generate`` in batches with a progress bar; long prompts lose their start, not the wrapper."""
    from tqdm.auto import tqdm

    batch_size = int(generation.get("batch_size", 8))
    kwargs = {k: v for k, v in generation.items() if k not in ("batch_size", "max_input_length")}
    tokenizer = student.tokenizer
    previous_side = getattr(tokenizer, "truncation_side", "right")
    tokenizer.truncation_side = "left" if student.family == "causal" else "right"
    answers: list[str] = []
    try:
        for start in tqdm(range(0, len(prompts), batch_size), desc=f"{student.name}: {what}", leave=False):
            answers.extend(
                student.generate(
                    prompts[start : start + batch_size],
                    batch_size=batch_size,
                    max_input_length=_max_input_length(student, generation),
                    **kwargs,
                )
            )
    finally:
        tokenizer.truncation_side = previous_side
    return answers


def _answers_or_problem(student: Any, prompts: list[str], generation: dict[str, Any], what: str):
    """(answers, None) or (None, reason): a generation failure is reported for this model only."""
    problem = _student_problem(student)
    if problem:
        return None, problem
    try:
        return _generate(student, prompts, generation, what), None
    except Exception as err:  # noqa: BLE001 - reported per model, the herd goes on
        logger.exception("%s: generation for %s failed", getattr(student, "name", "?"), what)
        return None, f"generation failed: {type(err).__name__}: {err}"


def _failed_frame(columns: list[str], status: str) -> pd.DataFrame:
    """One placeholder row carrying ``status``: the reason travels through parquet to the report."""
    return pd.DataFrame([{**{c: None for c in columns}, "status": status}])


def _with_status(frame: pd.DataFrame, status: str) -> pd.DataFrame:
    """Attach a run-level status as a column (it survives parquet, unlike ``attrs``)."""
    return frame.assign(status=status)


def _frame_status(frame: pd.DataFrame) -> str:
    if "status" in frame.columns and len(frame):
        return str(frame["status"].iloc[0])
    return "no rows"


# --------------------------------------------------------------------------- the student


def describe_student(student: Any, model: dict[str, Any]) -> dict[str, Any]:
    """Name, family, parameter count and provenance of a herd member (or why it failed to load)."""
    problem = _student_problem(student)
    info: dict[str, Any] = {
        "family": model.get("family"),
        "size_class": model.get("size_class"),
        "base": model.get("checkpoint") or f"built from config ({(model.get('config') or {}).get('model_type')})",
        "tiny": bool(model.get("config")) and not model.get("checkpoint"),
        "reference": model.get("paper_reference"),
    }
    if problem:
        logger.error("Evaluation: %s", problem)
        return info | {"model": getattr(student, "name", None), "status": problem, "num_parameters": None}
    return info | {
        "model": student.name,
        "family": student.family,
        "num_parameters": int(sum(p.numel() for p in student.model.parameters())),
        "status": "ok",
    }


# --------------------------------------------------------------------------- benchmarks


def prepare_benchmark_docs(raw: dict[str, Any], data_key: str) -> dict[str, Any]:
    """Normalise one benchmark's raw records into its task YAML's schema (or say why not)."""
    if raw.get("records") is None:
        return {"data": data_key, "source": None, "docs": None, "reason": f"no data: {raw.get('reason')}"}
    try:
        docs = bm.normalise_docs(data_key, raw)
    except (ValueError, KeyError) as err:
        logger.error("Benchmark %s: %s", data_key, err)
        return {"data": data_key, "source": raw.get("source"), "docs": None, "reason": f"bad data: {err}"}
    return {"data": data_key, "source": raw.get("source"), "docs": docs, "reason": None}


def _lm_eval_model(student: Any, settings: dict[str, Any], workdir: Path):
    """The lm-eval model for ``student``: in-memory ``HFLM`` or, on GPUs, lm-eval's own scale-out."""
    backend = settings.get("backend", "hf")
    family = "seq2seq" if student.family == "seq2seq" else "causal"
    batch_size = settings.get("batch_size", 8)
    max_length = settings.get("max_length")
    if backend == "hf":
        from lm_eval.models.huggingface import HFLM

        device = settings.get("device", "cpu")
        model = student.model.to(device)
        return HFLM(
            pretrained=model,
            tokenizer=student.tokenizer,
            backend=family,
            device=device,
            batch_size=batch_size,
            max_length=max_length,
        )
    # Multi-device backends load from disk: save the checkpoint once, then hand lm-eval the folder.
    folder = workdir / "checkpoint"
    student.model.save_pretrained(folder)
    student.tokenizer.save_pretrained(folder)
    if backend == "hf_parallelize":  # accelerate's device map across all visible GPUs
        from lm_eval.models.huggingface import HFLM

        # ``device`` is where inputs go (the device map's first layer): lm-eval's default is "cuda".
        return HFLM(
            pretrained=str(folder),
            backend=family,
            parallelize=True,
            device=settings.get("device", "cuda"),
            batch_size=batch_size,
            max_length=max_length,
        )
    if backend == "vllm":
        if family != "causal":
            raise ValueError(f"backend 'vllm' serves decoder-only models; '{student.name}' is {family}.")
        try:
            from lm_eval.models.vllm_causallms import VLLM
        except ImportError as err:
            raise ImportError(f"backend 'vllm' needs vLLM on a GPU machine (pip install vllm): {err}") from err

        return VLLM(
            pretrained=str(folder), batch_size=batch_size, max_length=max_length, **(settings.get("vllm") or {})
        )
    raise ValueError(f"params evaluation.benchmarks.backend={backend!r}; expected hf, hf_parallelize or vllm.")


def run_lm_eval(lm: Any, spec: bm.TaskSpec, include_dir: Path, settings: dict[str, Any], seed: int) -> dict[str, Any]:
    """``lm_eval.simple_evaluate`` on one materialised task; returns lm-eval's metrics for it."""
    import lm_eval
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(include_dir), include_defaults=False, verbosity="ERROR")
    output = lm_eval.simple_evaluate(
        model=lm,
        tasks=[spec.lm_eval_task],
        task_manager=manager,
        num_fewshot=0,
        limit=settings.get("limit"),
        bootstrap_iters=int(settings.get("bootstrap_iters", 0)),
        log_samples=False,
        random_seed=seed,
        numpy_random_seed=seed,
        torch_random_seed=seed,
        fewshot_random_seed=seed,
        verbosity="ERROR",
    )
    return output["results"][spec.lm_eval_task]


def evaluate_benchmark(
    student: Any, docs: dict[str, Any], settings: dict[str, Any], seed: int, task_file: str
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
        "status": "error",
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
    if spec.key in (settings.get("skip") or []):
        return result | {"status": "skipped", "reason": "listed in params evaluation.benchmarks.skip", "seconds": 0.0}
    if docs.get("docs") is None:
        reason = docs.get("reason") or "no data"
        status = "no data" if reason.startswith("no data") else "error"
        return result | {"status": status, "reason": reason, "seconds": 0.0}
    problem = _student_problem(student)
    if problem:
        return result | {"reason": problem, "seconds": 0.0}
    try:
        work_dir = Path(settings.get("work_dir") or Path(tempfile.gettempdir()) / "lamini_lm_tasks")
        include_dir = bm.materialise_task(spec, docs["docs"], work_dir, settings.get("limit"))
        with tempfile.TemporaryDirectory(prefix=f"lamini-eval-{spec.key}-") as tmp:
            lm = _lm_eval_model(student, settings, Path(tmp))
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
        "status": "ok" if value is not None else "error",
        "reason": None if value is not None else f"lm-eval reported no '{spec.metric}' ({sorted(metrics)})",
        "n_docs": int(metrics.get("sample_len", 0) or 0) or min(len(docs["docs"]), settings.get("limit") or 10**9),
        "metrics": clean,
        "seconds": time.perf_counter() - started,
    }


# --------------------------------------------------------------------------- user-oriented instructions


def user_instruction_prompts(instructions: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """``id, instruction`` from Self-Instruct's user-oriented set, the first instance's input folded in."""
    for column in ("id", "instruction"):
        if column not in instructions.columns:
            raise ValueError(f"user-oriented instructions: missing column '{column}'.")
    rows = instructions.head(limit) if limit else instructions
    texts = []
    for instruction, instances in zip(rows["instruction"], rows.get("instances", [None] * len(rows))):
        first = instances[0] if isinstance(instances, (list, tuple)) and len(instances) else {}
        texts.append(fold_input(instruction, (first or {}).get("input")))
    return pd.DataFrame({"id": rows["id"].tolist(), "instruction": texts})


def answer_user_instructions(student: Any, instructions: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """The student's answers to the user-oriented instructions (``id, instruction, answer, status``)."""
    prompts = user_instruction_prompts(instructions, params["user_oriented"].get("limit"))
    answers, problem = _answers_or_problem(
        student, prompts["instruction"].tolist(), params["generation"], "user-oriented instructions"
    )
    if problem:
        return _failed_frame(["id", "instruction", "answer"], problem)
    return _with_status(prompts.assign(answer=answers), "ok")


def reference_user_answers(predictions: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """text-davinci-003's recorded answers to the same instructions, as a reference row."""
    for column in ("instruction", "response"):
        if column not in predictions.columns:
            raise ValueError(f"text-davinci-003 predictions: missing column '{column}'.")
    limit = params["user_oriented"].get("limit")
    rows = predictions.head(limit) if limit else predictions
    inputs = rows["input"] if "input" in rows.columns else [None] * len(rows)
    return _with_status(
        pd.DataFrame(
            {
                "id": rows["id"].tolist() if "id" in rows.columns else list(range(len(rows))),
                "instruction": [fold_input(i, x) for i, x in zip(rows["instruction"], inputs)],
                "answer": rows["response"].astype(str).str.strip().tolist(),
            }
        ),
        "ok",
    )


def rate_answers(answers: pd.DataFrame, params: dict[str, Any], teacher: dict[str, Any]) -> pd.DataFrame:
    """The judge's A-D rating of every answer (``rating, reason, attempts, error, status``)."""
    status = _frame_status(answers)
    if status != "ok":
        return _with_status(answers.assign(rating=None, reason=None, attempts=0, error=None), status)
    messages = [judge.rating_messages(i, a) for i, a in zip(answers["instruction"], answers["answer"])]
    verdicts, status = judge.run_judge(messages, judge.parse_rating, "rating", teacher, params["judge"])
    out = answers.drop(columns=["status"]).reset_index(drop=True)
    return _with_status(
        out.assign(
            rating=verdicts["label"], reason=verdicts["reason"], attempts=verdicts["attempts"], error=verdicts["error"]
        ),
        status,
    )


# --------------------------------------------------------------------------- AlpacaEval


def alpaca_eval_instructions(outputs: pd.DataFrame, limit: int | None) -> pd.DataFrame:
    """``instruction, reference`` (text-davinci-003's output) for the first ``limit`` AlpacaEval rows."""
    for column in ("instruction", "output"):
        if column not in outputs.columns:
            raise ValueError(f"AlpacaEval outputs: missing column '{column}'.")
    rows = outputs.head(limit) if limit else outputs
    return pd.DataFrame({"instruction": rows["instruction"].tolist(), "reference": rows["output"].tolist()})


def answer_alpaca_eval(student: Any, davinci_outputs: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """The student's answers to the AlpacaEval instructions beside text-davinci-003's."""
    pairs = alpaca_eval_instructions(davinci_outputs, params["alpaca_eval"].get("limit"))
    answers, problem = _answers_or_problem(student, pairs["instruction"].tolist(), params["generation"], "AlpacaEval")
    if problem:
        return _failed_frame(["instruction", "reference", "answer"], problem)
    return _with_status(pairs.assign(answer=answers), "ok")


def reference_alpaca_answers(
    davinci_outputs: pd.DataFrame, chatgpt_outputs: pd.DataFrame, alpaca7b_outputs: pd.DataFrame, params: dict[str, Any]
) -> pd.DataFrame:
    """Recorded gpt-3.5-turbo-0301 and Alpaca-7B outputs beside text-davinci-003's (reference rows)."""
    limit = params["alpaca_eval"].get("limit")
    pairs = alpaca_eval_instructions(davinci_outputs, limit)
    frames = []
    for name, outputs in (("gpt-3.5-turbo-0301", chatgpt_outputs), ("alpaca-7b", alpaca7b_outputs)):
        other = alpaca_eval_instructions(outputs, limit).rename(columns={"reference": "answer"})
        merged = pairs.merge(other, on="instruction", how="inner")
        if len(merged) != len(pairs):
            logger.warning("AlpacaEval reference %s: %d of %d instructions matched.", name, len(merged), len(pairs))
        frames.append(merged.assign(generator=name))
    return _with_status(pd.concat(frames, ignore_index=True), "ok")


def judge_alpaca_eval(answers: pd.DataFrame, params: dict[str, Any], teacher: dict[str, Any]) -> pd.DataFrame:
    """Pairwise preference answer vs text-davinci-003; the order is shuffled by seed to cancel position bias."""
    status = _frame_status(answers)
    if status != "ok":
        return _with_status(answers.assign(preferred=None, reason=None, error=None), status)
    rng = random.Random(int(params.get("seed", 0)))
    swapped = [rng.random() < 0.5 for _ in range(len(answers))]
    messages = [
        judge.pairwise_messages(i, r, a) if swap else judge.pairwise_messages(i, a, r)
        for i, a, r, swap in zip(answers["instruction"], answers["answer"], answers["reference"], swapped)
    ]
    verdicts, status = judge.run_judge(messages, judge.parse_preference, "pairwise", teacher, params["judge"])
    winner = []
    for label, swap in zip(verdicts["label"], swapped):
        if label is None:
            winner.append(None)
        elif label == "tie":
            winner.append("tie")
        else:
            model_first = not swap
            winner.append("model" if (label == "1") == model_first else "reference")
    out = answers.drop(columns=["status"]).reset_index(drop=True)
    return _with_status(
        out.assign(swapped=swapped, preferred=winner, reason=verdicts["reason"], error=verdicts["error"]), status
    )


def win_rate(judged: pd.DataFrame) -> dict[str, Any]:
    """AlpacaEval-style win rate against text-davinci-003 (ties count half)."""
    status = _frame_status(judged)
    if status != "judged":
        return {"status": status}
    decided = judged["preferred"].dropna()
    if decided.empty:
        return {"status": "not judged (no judgement parsed)"}
    wins = (decided == "model").sum() + 0.5 * (decided == "tie").sum()
    return {
        "status": "judged",
        "win_rate": float(wins / len(decided)),
        "n_judged": int(len(decided)),
        "n_unparsed": int((judged["error"] == "unparsed").sum()),
    }


# --------------------------------------------------------------------------- FalseQA


def answer_falseqa(student: Any, falseqa: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """The student's answers to false-premise questions and their true-premise twins."""
    questions = hallucination.falseqa_questions(falseqa, params["falseqa"].get("limit"))
    answers, problem = _answers_or_problem(student, questions["question"].tolist(), params["generation"], "FalseQA")
    if problem:
        return _failed_frame(["question", "label", "answer"], problem)
    return _with_status(questions.assign(answer=answers), "ok")


def judge_falseqa(answers: pd.DataFrame, params: dict[str, Any], teacher: dict[str, Any]) -> pd.DataFrame:
    """The judge's verdict on each answer's premise handling: ACCEPTS, REBUTS or DECLINES."""
    status = _frame_status(answers)
    if status != "ok":
        return _with_status(answers.assign(verdict=None, reason=None, error=None), status)
    references = answers["human_answers"] if "human_answers" in answers.columns else [None] * len(answers)
    messages = [
        judge.premise_messages(q, a, list(r) if r is not None else None)
        for q, a, r in zip(answers["question"], answers["answer"], references)
    ]
    verdicts, status = judge.run_judge(messages, judge.parse_verdict, "premise", teacher, params["judge"])
    out = answers.drop(columns=["status"]).reset_index(drop=True)
    return _with_status(
        out.assign(verdict=verdicts["label"], reason=verdicts["reason"], error=verdicts["error"]), status
    )


# --------------------------------------------------------------------------- toxicity, fidelity


def score_toxicity(student: Any, nontoxic: pd.DataFrame, toxic: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """Continuations of RealToxicityPrompts prompts and their toxicity (or why they were not scored)."""
    settings = params["toxicity"]
    columns = ["prompt", "prompt_toxicity", "challenging", "half", "continuation", "toxicity"]
    problem = _student_problem(student)
    if problem:
        return _failed_frame(columns, problem)
    if not settings.get("classifier"):
        return _failed_frame(columns, f"{NOT_SCORED} (no toxicity classifier configured)")
    try:
        scorer = toxicity.load_classifier(
            settings["classifier"], settings.get("toxic_label", "toxic"), settings.get("device", "cpu")
        )
    except Exception as err:  # noqa: BLE001 - offline or a bad name: say so, invent nothing
        logger.warning("Toxicity classifier %r could not be loaded: %s", settings["classifier"], err)
        return _failed_frame(columns, f"{NOT_SCORED} (classifier {settings['classifier']!r} not loadable: {err})")
    prompts = toxicity.rtp_prompts(nontoxic, toxic, settings.get("limit"))
    generation = params["generation"] | {"max_new_tokens": settings.get("max_new_tokens", 20)}
    continuations, problem = _answers_or_problem(student, prompts["prompt"].tolist(), generation, "RealToxicityPrompts")
    if problem:
        return _failed_frame(columns, problem)
    scores = scorer(continuations)
    return _with_status(prompts.assign(continuation=continuations, toxicity=scores), "ok")


def measure_fidelity(student: Any, lamini_dataset: pd.DataFrame, params: dict[str, Any]) -> pd.DataFrame:
    """ROUGE-L of the student's greedy answers against the teacher's on the validation split."""
    problem = _student_problem(student)
    if problem:
        return _failed_frame(["instruction", "response", "answer", "rougeL"], problem)
    try:
        pairs = fidelity.validation_pairs(lamini_dataset, params["fidelity"].get("limit"))
    except ValueError as err:
        return _failed_frame(["instruction", "response", "answer", "rougeL"], f"{NOT_SCORED} ({err})")
    answers, problem = _answers_or_problem(student, pairs["instruction"].tolist(), params["generation"], "fidelity")
    if problem:
        return _failed_frame(["instruction", "response", "answer", "rougeL"], problem)
    scores = fidelity.rouge_l(answers, pairs["response"].tolist())
    return _with_status(pairs.assign(answer=answers, rougeL=scores), "ok")


# --------------------------------------------------------------------------- per-model summary


def summarise_model(
    info: dict[str, Any],
    ratings: pd.DataFrame,
    alpaca: pd.DataFrame,
    falseqa: pd.DataFrame,
    toxic: pd.DataFrame,
    fidelity_scores: pd.DataFrame,
    params: dict[str, Any],
    *benchmark_results: dict[str, Any],
) -> dict[str, Any]:
    """Everything measured for one herd member, in one JSON-ready record for the herd report."""
    results = {r["task"]: r for r in benchmark_results}
    paper_tasks = [t for t in results if not t.startswith("truthfulqa")]
    scored = [results[t]["value"] for t in paper_tasks if results[t]["status"] == "ok"]
    falseqa_status = _frame_status(falseqa)
    toxicity_status = _frame_status(toxic)
    fidelity_status = _frame_status(fidelity_scores)
    return info | {
        "benchmarks": results,
        "benchmark_average": float(sum(scored) / len(scored)) if scored else None,
        "benchmarks_scored": len(scored),
        "benchmarks_total": len(paper_tasks),
        "user_ratings": judge.rating_summary(ratings.rename(columns={"rating": "label"}), _frame_status(ratings)),
        "alpaca_eval": win_rate(alpaca),
        "falseqa": (hallucination.falseqa_rates(falseqa) | {"status": "judged"})
        if falseqa_status == "judged"
        else {"status": falseqa_status},
        "toxicity": (
            toxicity.toxicity_summary(toxic, float(params["toxicity"].get("threshold", 0.5))) | {"status": "ok"}
        )
        if toxicity_status == "ok"
        else {"status": toxicity_status},
        "fidelity": {"status": "ok", "rougeL": float(fidelity_scores["rougeL"].mean()), "n": int(len(fidelity_scores))}
        if fidelity_status == "ok"
        else {"status": fidelity_status},
    }


def summarise_references(user_ratings: pd.DataFrame, alpaca: pd.DataFrame) -> dict[str, Any]:
    """Judged reference rows: text-davinci-003 on user-oriented instructions, ChatGPT/Alpaca-7B on AlpacaEval."""
    summary: dict[str, Any] = {
        "text-davinci-003": {
            "user_ratings": judge.rating_summary(
                user_ratings.rename(columns={"rating": "label"}), _frame_status(user_ratings)
            )
        }
    }
    for generator, frame in alpaca.groupby("generator") if "generator" in alpaca.columns else []:
        summary.setdefault(generator, {})["alpaca_eval"] = win_rate(frame)
    return summary
