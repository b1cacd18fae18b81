"""Evaluation nodes on tiny students: real lm-eval scoring, and every failure reported, never raised."""

from __future__ import annotations

import pandas as pd
from conf_params import conf_block

from lamini_lm.herd import ModelSpec
from lamini_lm.pipelines.evaluation import fidelity, hallucination, harness, instructions, summary, toxicity
from lamini_lm.pipelines.evaluation.params import (
    BenchmarkParams,
    EvaluationParams,
    FidelityParams,
    GenerationParams,
    UserOrientedParams,
)
from lamini_lm.teacher.config import TeacherSettings


def benchmark_settings(**overrides) -> BenchmarkParams:
    """conf/base's benchmark settings, small for tests (no work_dir: a temporary folder)."""
    small = {"limit": 4, "batch_size": 8, "bootstrap_iters": 0, "work_dir": None}
    return BenchmarkParams.model_validate(conf_block("evaluation.benchmarks", **(small | overrides)))


SETTINGS = benchmark_settings()
SST2_DOCS = {
    "data": "sst2",
    "source": "test",
    "reason": None,
    "docs": [{"sentence": "a fine film", "label": 1}, {"sentence": "dull", "label": 0}] * 3,
}
PARAMS = EvaluationParams.model_validate(conf_block("evaluation", generation={"max_new_tokens": 4, "batch_size": 4}))
GENERATION = PARAMS.generation


def test_benchmark_scored_through_lm_eval(causal_student):
    """(Seq2seq students are scored through lm-eval in test_pipeline.py.)"""
    student = causal_student
    result = harness.evaluate_benchmark(student, SST2_DOCS, SETTINGS, 0, "lamini_sst2.yaml")
    assert result["status"] == "ok", result["reason"]
    assert result["metric"] == "acc" and result["value"] in {0.0, 0.25, 0.5, 0.75, 1.0}
    assert result["n_docs"] == 4 and result["model"] == student.name


def test_no_data_skipped_and_bad_inputs_are_reported(causal_student, tmp_path, monkeypatch):
    no_data = {"data": "sciq", "docs": None, "reason": "no data: SciQ has no offline copy"}
    result = harness.evaluate_benchmark(causal_student, no_data, SETTINGS, 0, "lamini_sciq.yaml")
    assert result["status"] == "no data" and result["value"] is None and "SciQ" in result["reason"]

    skipped = harness.evaluate_benchmark(
        causal_student, SST2_DOCS, benchmark_settings(skip=["sst2"]), 0, "lamini_sst2.yaml"
    )
    assert skipped["status"] == "skipped"

    broken = harness.evaluate_benchmark(OSError("config.json missing"), SST2_DOCS, SETTINGS, 0, "lamini_sst2.yaml")
    assert broken["status"] == "error" and "checkpoint failed to load" in broken["reason"]

    missing = harness.evaluate_benchmark(causal_student, SST2_DOCS, SETTINGS, 0, "lamini_nonexistent.yaml")
    assert missing["status"] == "error" and missing["reason"].startswith("bad task file")

    (tmp_path / "lamini_sst2.yaml").write_text("task: lamini_sst2\noutput_type: multiple_choice\n")
    monkeypatch.setattr(harness.bm, "TASKS_DIR", tmp_path)
    incomplete = harness.evaluate_benchmark(causal_student, SST2_DOCS, SETTINGS, 0, "lamini_sst2.yaml")
    assert incomplete["status"] == "error" and "missing field(s) doc_to_text" in incomplete["reason"]


def test_lm_eval_failure_is_reported_not_raised(causal_student):
    bad_docs = {
        "data": "winogrande",
        "source": "t",
        "reason": None,
        "docs": [{"sentence": "no blank here", "option1": "a", "option2": "b", "answer": "1"}],
    }
    result = harness.evaluate_benchmark(causal_student, bad_docs, SETTINGS, 0, "lamini_winogrande.yaml")
    assert result["status"] == "error" and result["reason"].startswith("lm-eval failed")


def test_describe_student(causal_student, raw_data):
    model_spec = ModelSpec.model_validate(conf_block("models.tiny_gpt2"))
    published = pd.read_csv(raw_data / "paper/results_15_tasks.csv")
    info = summary.describe_student(causal_student, model_spec, published, member="tiny_gpt2")
    assert info["status"] == "ok" and info["num_parameters"] > 1000 and info["tiny"] is True
    assert info["base"] == "built from config (gpt2)" and info["size_class"] == "tiny"
    assert info["member"] == "tiny_gpt2" and info["reference"] is None and info["base_reference"] is None
    failed = summary.describe_student(RuntimeError("bad weights"), model_spec, published, member="tiny_gpt2")
    assert failed["status"].startswith("checkpoint failed to load: RuntimeError: bad weights")
    assert failed["model"] == "tiny_gpt2"  # a failed load is still reported under the member's name
    named = model_spec.model_copy(update={"paper_reference": "LaMini-GPT-124M", "paper_base_reference": "GPT-2"})
    info = summary.describe_student(causal_student, named, published, member="tiny_gpt2")
    assert (info["reference"], info["base_reference"]) == ("LaMini-GPT-124M", "GPT-2")


def test_answers_use_student_generate_and_fold_inputs(seq2seq_student):
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "motivation_app": ["x"] * 3,
            "instruction": ["Sort the words.", "Say hi.", "Count."],
            "instances": [[{"input": "b, a", "output": ""}], [{"input": "", "output": ""}], []],
        }
    )
    limit = UserOrientedParams.model_validate(conf_block("evaluation.user_oriented", limit=2))
    answers = instructions.answer_user_instructions(seq2seq_student, frame, limit, GENERATION)
    assert answers["instruction"].tolist() == ['Sort the words: "b, a"', "Say hi."]
    assert answers["row"].tolist() == [0, 1]
    assert answers["status"].eq("ok").all() and answers["answer"].map(type).eq(str).all()


def test_long_prompts_fit_a_small_causal_model(causal_student):
    generation = GenerationParams.model_validate(
        conf_block("evaluation.generation", max_new_tokens=4, batch_size=4, max_input_length=4096)
    )
    frame = pd.DataFrame({"id": ["x"], "instruction": ["word " * 2000], "instances": [[]]})
    answers = instructions.answer_user_instructions(causal_student, frame, PARAMS.user_oriented, generation)
    assert answers["status"].iloc[0] == "ok"


def test_failed_student_answers_carry_the_reason_to_the_summary(raw_data):
    params = EvaluationParams.model_validate(
        conf_block(
            "evaluation",
            user_oriented={"limit": 2},
            alpaca_eval={"limit": 2},
            falseqa={"limit": 1},
            fidelity={"limit": 2},
            generation={"max_new_tokens": 4, "batch_size": 4},
            toxicity={"classifier": "x", "limit": 1},
        )
    )
    teacher = TeacherSettings.model_validate(conf_block("teacher"))
    bad = ValueError("no such checkpoint")
    gen, judge = params.generation, params.judge
    user = instructions.answer_user_instructions(
        bad, pd.DataFrame({"id": [1], "instruction": ["i"]}), params.user_oriented, gen
    )
    alpaca = instructions.answer_alpaca_eval(
        bad, pd.DataFrame({"instruction": ["i"], "output": ["o"]}), params.alpaca_eval, gen
    )
    falseqa = hallucination.answer_falseqa(
        bad, pd.DataFrame({"question": ["q"], "answer": ["[]"], "label": [1]}), params.falseqa, gen
    )
    frames = {
        "ratings": instructions.rate_answers(user, judge, teacher),
        "alpaca": instructions.judge_alpaca_eval(alpaca, judge, params.seed, teacher),
        "falseqa": hallucination.judge_falseqa(falseqa, judge, teacher),
        "lamini": hallucination.judge_lamini_hallucination(
            hallucination.answer_lamini_hallucination(
                bad,
                pd.read_json(raw_data / "paper/lamini_hallucination_questions.jsonl", lines=True),
                params.lamini_hallucination,
                gen,
            ),
            judge,
            teacher,
        ),
        "toxic": toxicity.score_toxicity(bad, pd.DataFrame(), params.toxicity, gen, teacher),
        "fidelity": fidelity.measure_fidelity(bad, pd.DataFrame(), params.fidelity, gen),
    }
    published = pd.read_csv(raw_data / "paper/results_15_tasks.csv")
    spec = ModelSpec.model_validate(conf_block("models.tiny_gpt2"))
    info = summary.describe_student(bad, spec, published, member="tiny_gpt2")
    result = summary.summarise_model(
        info,
        frames["ratings"],
        frames["alpaca"],
        frames["falseqa"],
        frames["lamini"],
        frames["toxic"],
        frames["fidelity"],
        params.toxicity,
    )
    for section in summary.SECTIONS:
        assert "no such checkpoint" in result[section]["status"], section
    assert result["benchmark_average"] is None


def test_fidelity_rouge_against_teacher(causal_student):
    data = pd.DataFrame(
        {"instruction": ["a", "b", "c"], "response": ["x", "y", "z"], "split": ["train", "validation", "validation"]}
    )
    limit = FidelityParams.model_validate(conf_block("evaluation.fidelity", limit=5))
    scored = fidelity.measure_fidelity(causal_student, data, limit, GENERATION)
    assert len(scored) == 2 and scored["rougeL"].between(0, 1).all()
    missing = fidelity.measure_fidelity(causal_student, data.drop(columns=["split"]), limit, GENERATION)
    assert missing["status"].iloc[0].startswith("not scored") and "split" in missing["status"].iloc[0]


def test_rouge_l_is_one_for_identical_text():
    assert fidelity.rouge_l(["the cat sat"], ["the cat sat"]) == [1.0]
    assert fidelity.rouge_l(["dog"], ["the cat sat"]) == [0.0]
