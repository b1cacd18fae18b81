"""Toxicity with a tiny classifier saved here (more in test_toxicity.py), the herd report (table, markdown,
figures) and MLflow child runs."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.evaluation import figures, herd_table, report, toxicity, tracking
from lamini_lm.pipelines.evaluation.params import (
    BenchmarkParams,
    GenerationParams,
    JudgeParams,
    ReportParams,
    ToxicityParams,
    TrackingParams,
    UserOrientedParams,
)
from lamini_lm.teacher.config import TeacherSettings

RTP = pd.DataFrame(
    {
        "prompt": [{"text": "The dog", "toxicity": 0.05}, {"text": "You are", "toxicity": 0.95}],
        "challenging": [False, True],
    }
)
GENERATION = GenerationParams.model_validate(conf_block("evaluation.generation", max_new_tokens=3, batch_size=4))


NO_CHECK = {"status": "not judged (no live judge)", "passed": None, "min_accuracy": 0.8}
TOXICITY_SECTION = "## Toxicity (RealToxicityPrompts)\n\n| model | per 1K |\n|---|---|\n| tiny_t5 | not scored |\n"


def toxicity_settings(**overrides) -> ToxicityParams:
    return ToxicityParams.model_validate(conf_block("evaluation.toxicity", **overrides))


@pytest.fixture(scope="module")
def tiny_classifier(tmp_path_factory, tiny_tokenizer) -> str:
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(tiny_tokenizer),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=2,
        id2label={0: "non-toxic", 1: "toxic"},
        label2id={"non-toxic": 0, "toxic": 1},
    )
    folder = tmp_path_factory.mktemp("toxicity_classifier")
    BertForSequenceClassification(config).save_pretrained(folder)
    tiny_tokenizer.save_pretrained(folder)
    return str(folder)


def test_toxicity_scored_by_a_local_classifier_by_path(causal_student, tiny_classifier):
    settings = toxicity_settings(classifier=tiny_classifier, toxic_label="toxic", limit=2, threshold=0.5)
    prompts = toxicity.select_prompts(RTP, RTP.iloc[:0], settings)
    scored = toxicity.score_toxicity(causal_student, prompts, settings, GENERATION)
    assert scored["status"].eq("ok").all() and len(scored) == 2
    assert scored["toxicity"].between(0, 1).all() and set(scored["prompt_group"]) == {"nontoxic", "toxic"}
    assert scored["toxic"].tolist() == (scored["toxicity"] >= 0.5).tolist()
    assert scored["classifier"].eq(tiny_classifier).all()
    counts = toxicity.group_counts(scored)
    assert counts["nontoxic"]["n"] == 1 and counts["nontoxic"]["per_1k"] == 1000.0 * counts["nontoxic"]["toxic_outputs"]
    wrong_label = toxicity.score_toxicity(
        causal_student, prompts, settings.model_copy(update={"toxic_label": "TOXICITY"}), GENERATION
    )
    assert "not scored" in wrong_label["status"].iloc[0] and "non-toxic" in wrong_label["status"].iloc[0]


def test_no_classifier_offline_is_not_scored(causal_student, tmp_path):
    prompts = toxicity.select_prompts(RTP, RTP, toxicity_settings())
    none = toxicity.score_toxicity(causal_student, prompts, toxicity_settings(classifier=None), GENERATION)
    assert none["status"].iloc[0] == "not scored (no toxicity classifier configured)"
    missing = toxicity.score_toxicity(
        causal_student, prompts, toxicity_settings(classifier=str(tmp_path / "nope")), GENERATION
    )
    assert missing["status"].iloc[0].startswith("not scored (classifier")


def _summary(name, family, params, average, tiny=True, status="ok", judged=False):
    bench = {
        "sst2": {"task": "sst2", "status": "ok", "value": 0.5},
        "sciq": {"task": "sciq", "status": "no data", "value": None, "reason": "no data: x"},
        "rte": {"task": "rte", "status": "error", "value": None, "reason": "lm-eval failed: boom"},
    }
    ratings = (
        {"status": "judged", "rating_A": 0.5, "rating_B": 0.25, "rating_C": 0.25, "rating_D": 0.0}
        if judged
        else {"status": "not judged (no live judge)"}
    )
    return {
        "model": name,
        "family": family,
        "num_parameters": params,
        "tiny": tiny,
        "status": status,
        "benchmarks": bench,
        "benchmark_average": average,
        "benchmarks_scored": 1,
        "benchmarks_total": 3,
        "user_ratings": ratings,
        "alpaca_eval": {"status": "not judged (no live judge)"},
        "falseqa": {"status": "judged", "hallucination_rate": 0.4, "wrong_refusal_rate": 0.1}
        if judged
        else {"status": "not judged (no live judge)"},
        "toxicity": {"status": "not scored (no toxicity classifier configured)"},
        "fidelity": {"status": "ok", "rougeL": 0.12},
    }


RAW = Path(__file__).resolve().parents[3] / "data/01_raw"
PAPER = pd.read_csv(RAW / "paper/results_15_tasks.csv")
TABLE5 = pd.read_csv(RAW / "paper/hallucination_counts.csv")


def test_herd_table_markdown_and_figures():
    summaries = [
        _summary("tiny_t5", "seq2seq", 2e5, 0.5, judged=True),
        _summary("tiny_gpt2", "causal", 3e5, 0.5),
        _summary("broken", "causal", None, None, status="checkpoint failed to load: OSError: gone"),
    ]
    references = {"text-davinci-003": {"user_ratings": {"status": "not judged (no live judge)"}}}
    benchmarks = BenchmarkParams.model_validate(conf_block("evaluation.benchmarks", limit=20))
    subset = pd.DataFrame({"id": range(114)})
    user_oriented = UserOrientedParams.model_validate(conf_block("evaluation.user_oriented"))
    judge = JudgeParams.model_validate(conf_block("evaluation.judge"))
    teacher = TeacherSettings.model_validate(conf_block("teacher"))
    table, markdown, plots, same_figures, by_model = report.build_herd_report(
        PAPER,
        TABLE5,
        subset,
        references,
        benchmarks,
        user_oriented,
        judge,
        teacher,
        ReportParams.model_validate(conf_block("evaluation.report")),
        TOXICITY_SECTION,
        NO_CHECK,
        *summaries,
    )
    assert same_figures is plots and set(by_model) == {"tiny_t5", "tiny_gpt2", "broken"}
    ours = table[table["kind"] == "ours"].set_index("model")
    assert ours.loc["tiny_t5", "sst2"] == 50.0 and math.isnan(ours.loc["tiny_t5", "sciq"])
    assert ours.loc["tiny_t5", "rating_A"] == 50.0 and ours.loc["tiny_t5", "fidelity_rougeL"] == 12.0
    paper = table[table["kind"] == "paper (published)"].set_index("model")
    assert paper.loc["LaMini-Flan-T5-783M", "hellaswag"] == 43.7
    assert paper.loc["LaMini-Flan-T5-783M", "benchmark_average"] == 60.8
    squashed = re.sub(r" +\|", " |", re.sub(r"\| +", "| ", markdown))
    assert "| tiny_gpt2 | n/j" in squashed and markdown.count("not judged: no live judge") == 1  # one footnote
    assert "no data" in markdown and "tiny" in markdown
    assert TOXICITY_SECTION.strip() in markdown  # the toxicity table's section, after the hallucination one
    assert markdown.index("## Toxicity") > markdown.index("Hallucination")
    assert "**tiny_t5** / rte: lm-eval failed: boom" in markdown
    assert "**broken** / checkpoint: checkpoint failed to load: OSError: gone" in markdown
    table.to_parquet(pd.io.common.BytesIO())  # types survive parquet
    assert set(plots) == {"benchmark_average_vs_parameters.png", "ratings_stacked.png", "hallucination_toxicity.png"}


def test_one_mlflow_child_run_per_student(tmp_path, monkeypatch):
    import mlflow

    # The project tracks to sqlite (conf/base/mlflow.yml); a file store is 10x faster to create in a test.
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(f"file://{tmp_path}/mlruns")
    try:
        summaries = [_summary("tiny_t5", "seq2seq", 2e5, 0.5), _summary("tiny_gpt2", "causal", 3e5, 0.25)]
        plots = figures.herd_figures(herd_table.herd_table(summaries, {}, PAPER))
        tracking_params = TrackingParams.model_validate(
            conf_block("evaluation.tracking", enabled=True, start_parent=True, run_name="eval-test")
        )
        runs = tracking.log_students(plots, tracking_params, *summaries)
        assert set(runs) == {"tiny_t5", "tiny_gpt2"}
        client = mlflow.tracking.MlflowClient()
        child = client.get_run(runs["tiny_gpt2"])
        assert child.data.metrics["benchmark/sst2"] == 0.5 and child.data.metrics["benchmark/average"] == 0.25
        assert child.data.params["family"] == "causal"
        parent = client.get_run(child.data.tags["mlflow.parentRunId"])
        assert parent.info.run_name == "eval-test"
        assert any(a.path == "tiny_gpt2_benchmarks.png" for a in client.list_artifacts(child.info.run_id))
        assert any(a.path == "herd" for a in client.list_artifacts(parent.info.run_id))
        no_parent = TrackingParams.model_validate(conf_block("evaluation.tracking", enabled=True, start_parent=False))
        assert tracking.log_students(plots, no_parent, *summaries) == {}  # no parent, not asked to open one
    finally:
        mlflow.set_tracking_uri(None)
