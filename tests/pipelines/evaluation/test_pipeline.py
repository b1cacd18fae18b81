"""The evaluation pipeline end to end on an in-memory catalog: two tiny students, real bundled data; a
reference member evaluated from its checkpoint beside a trained one."""

from __future__ import annotations

import dataclasses
import json
import re

import pandas as pd
import pytest
from conf_params import conf_block
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner
from kedro_datasets.json import JSONDataset
from kedro_datasets.matplotlib import MatplotlibDataset
from kedro_datasets.pandas import JSONDataset as PandasJSONDataset
from kedro_datasets.pandas import ParquetDataset
from kedro_datasets.text import TextDataset

from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
from lamini_lm.datasets.checkpoint import CheckpointDataset
from lamini_lm.herd import ModelSpec
from lamini_lm.pipelines.evaluation import pipeline as ev
from lamini_lm.pipelines.evaluation.benchmarks import task_wiring
from lamini_lm.pipelines.evaluation.herd_table import OURS, REFERENCE
from lamini_lm.pipelines.evaluation.params import EvaluationParams
from lamini_lm.teacher.config import TeacherSettings

RAW = "data/01_raw"
KEPT_TASKS = {"truthfulqa_mc2"}  # custom process_results; sst2 etc. are scored in test_nodes.py


def _params(kept: set[str] = KEPT_TASKS, bootstrap_iters: int = 0) -> EvaluationParams:
    skip = [key for _, key, _ in task_wiring() if key not in kept]
    benchmarks = {"limit": 2, "skip": skip, "batch_size": 8, "bootstrap_iters": bootstrap_iters, "work_dir": None}
    return EvaluationParams.model_validate(
        conf_block(
            "evaluation",
            seed=0,
            benchmarks=benchmarks,
            generation={"max_new_tokens": 2, "batch_size": 4},
            user_oriented={"limit": 2},
            alpaca_eval={"limit": 2},
            falseqa={"limit": 1},
            lamini_hallucination={"per_category": 1},
            fidelity={"limit": 2},
            toxicity={"classifier": None, "limit": 2},
            judge={"max_retries": 1},
            tracking={"enabled": False},
        )
    )


def _catalog(project_root, students, params, tmp_path) -> DataCatalog:
    raw = project_root / RAW
    datasets = {
        "benchmark_raw_arc_challenge": BenchmarkSourceDataset(
            filepath=str(raw / "benchmarks/arc_challenge/ARC-Challenge-Test.jsonl")
        ),
        "benchmark_raw_sst2": BenchmarkSourceDataset(
            filepath=str(raw / "benchmarks/glue_sst2/dev.tsv"), file_format="tsv"
        ),
        "benchmark_raw_boolq": BenchmarkSourceDataset(  # a task file + this entry: no code (tasks/lamini_boolq.yaml)
            filepath=str(raw / "benchmarks/superglue_boolq/val.jsonl")
        ),
        "benchmark_raw_truthfulqa": BenchmarkSourceDataset(
            filepath=str(raw / "hallucination/truthfulqa.csv"), file_format="csv"
        ),
    }
    for _, _, data in task_wiring():
        datasets.setdefault(f"benchmark_raw_{data}", BenchmarkSourceDataset(no_data="not in this test"))
    out = tmp_path / "out"
    datasets["herd_report"] = ParquetDataset(filepath=str(out / "herd_report.parquet"))
    datasets["herd_report_markdown"] = TextDataset(filepath=str(out / "herd_report.md"))
    datasets["herd_report_plots"] = MatplotlibDataset(filepath=str(out / "plots"))
    datasets["herd_summaries"] = JSONDataset(filepath=str(out / "herd_summaries.json"))
    datasets["eval_human_eval_subset"] = PandasJSONDataset(  # as conf/base saves it: JSON lines
        filepath=str(out / "human_eval_subset.jsonl"),
        load_args={"lines": True},
        save_args={"orient": "records", "lines": True, "force_ascii": False},
    )
    for student in students:
        name = f"{student.name}.eval_lamini_hallucination_judged"
        datasets[name] = ParquetDataset(filepath=str(out / f"{name}.parquet"))
    catalog = DataCatalog(datasets=datasets)
    catalog["user_oriented_instructions"] = pd.read_json(
        raw / "human_eval/user_oriented_instructions.jsonl", lines=True
    )
    catalog["text_davinci_003_predictions"] = pd.read_json(
        raw / "human_eval/text-davinci-003_predictions.jsonl", lines=True
    )
    for name, file in (
        ("text_davinci_003", "text_davinci_003"),
        ("gpt_35_turbo_0301", "gpt-3.5-turbo-0301"),
        ("alpaca_7b", "alpaca-7b"),
    ):
        catalog[f"alpaca_eval_{name}"] = pd.read_json(raw / f"distilled/alpaca_eval/{file}_model_outputs.json")
    catalog["falseqa_questions"] = pd.read_csv(raw / "hallucination/falseqa_test.csv")
    catalog["lamini_hallucination_questions"] = pd.read_json(
        raw / "paper/lamini_hallucination_questions.jsonl", lines=True
    )
    catalog["paper_results_15_tasks"] = pd.read_csv(raw / "paper/results_15_tasks.csv")
    catalog["paper_hallucination_counts"] = pd.read_csv(raw / "paper/hallucination_counts.csv")
    catalog["rtp_prompts_nontoxic"] = pd.DataFrame({"prompt": [{"text": "Hello"}], "challenging": [False]})
    catalog["rtp_prompts_toxic"] = pd.DataFrame({"prompt": [{"text": "You"}], "challenging": [True]})
    catalog["paper_toxicity_counts"] = pd.read_csv(raw / "paper/toxicity_counts.csv")
    catalog["paper_human_eval_rated_examples"] = pd.read_json(raw / "paper/human_eval_rated_examples.jsonl", lines=True)
    catalog["lamini_dataset"] = pd.DataFrame(
        {
            "instruction": ["Say hi.", "Name a fox."],
            "response": ["Hi!", "A fox."],
            "split": ["validation", "validation"],
        }
    )
    for key in EvaluationParams.model_fields:
        catalog[f"params:evaluation.{key}"] = getattr(params, key)
    catalog["params:teacher"] = TeacherSettings.model_validate(conf_block("teacher", replay={"serve": True}))
    for student in students:
        catalog[f"{student.name}.checkpoint"] = MemoryDataset(student, copy_mode="assign")
        catalog[f"params:models.{student.name}"] = ModelSpec.model_validate(conf_block(f"models.{student.name}"))
    return catalog


@pytest.mark.parametrize("judge_mode", ["replay"])
def test_pipeline_two_students_and_report(
    project_root, monkeypatch, causal_student, seq2seq_student, fake_teacher, tmp_path, judge_mode
):
    monkeypatch.chdir(project_root)
    fake_teacher(error="not in replay corpus")
    members = [causal_student.name, seq2seq_student.name]
    monkeypatch.setattr(ev, "herd_members", lambda: members)
    pipe = ev.create_pipeline()
    catalog = _catalog(project_root, [causal_student, seq2seq_student], _params(KEPT_TASKS | {"boolq"}), tmp_path)
    SequentialRunner().run(pipe, catalog)

    table = catalog.load("herd_report")
    ours = table[table["kind"] == "ours"].set_index("model")
    assert set(ours.index) == set(members)
    for model in members:
        summary = catalog.load("herd_summaries")[model]
        bench = summary["benchmarks"]
        assert bench["truthfulqa_mc2"]["status"] == "ok" and 0 < bench["truthfulqa_mc2"]["value"] < 1
        assert bench["sciq"]["status"] == "skipped"
        # BoolQ: only a task file and a catalog entry; scored, an extra (not in the paper's 15-task average)
        assert bench["boolq"]["status"] == "ok" and bench["boolq"]["n_docs"] == 2 and not bench["boolq"]["paper_task"]
        assert summary["benchmarks_total"] == 15
        assert ours.loc[model, "boolq"] == pytest.approx(bench["boolq"]["value"] * 100)
        assert summary["user_ratings"]["status"] == "not judged (no live judge)"
        assert summary["lamini_hallucination"] == {"status": "not judged (no live judge)"}
        assert summary["member"] == model and summary["reference"] is None
        assert summary["toxicity"]["status"].startswith("not scored")
        assert summary["fidelity"]["status"] == "ok"
        assert ours.loc[model, "num_parameters"] > 0
        json.dumps(summary)  # JSON-ready for the catalog
    markdown = catalog.load("herd_report_markdown")
    assert "not judged (no live judge)" in markdown
    assert re.search(r"\|\s*BoolQ \(extra\)\s*\|", markdown) and re.search(
        r"\|\s*TruthfulQA MC2 \(extra\)\s*\|", markdown
    )
    assert "LaMini-GPT-1.5B" in markdown and "48.3" in markdown
    assert "tiny" in markdown
    assert "## The paper's published results (35 rows: 17 LaMini models, 18 base models / baselines)" in markdown
    cells = re.sub(r" +\|", " |", re.sub(r"\| +", "| ", markdown))  # to_markdown pads each cell
    assert "| LaMini-LLaMA-7B *(paper, Table 5)* | humans (the paper) | 4 | 5 | 2 | 1 | 12 |" in cells
    assert "picks 114 of Self-Instruct's 252" in markdown and "This run rates the first 2" in markdown
    assert (table["kind"] == "paper (published)").sum() == 35
    subset = catalog.load("eval_human_eval_subset")
    assert len(subset) == 114 and subset["motivation_app"].value_counts().max() <= 2
    judged = catalog.load(f"{causal_student.name}.eval_lamini_hallucination_judged")
    assert len(judged) == 4 and judged["judgement"].eq("not judged (no live judge)").all()
    plots = {p.name for p in (tmp_path / "out" / "plots").iterdir()}
    assert plots == {"benchmark_average_vs_parameters.png", "ratings_stacked.png", "hallucination_toxicity.png"}


REFERENCE_NAME = "ref_gpt2"


@pytest.mark.slow
def test_reference_is_evaluated_from_its_checkpoint_and_reported_with_stderr_and_n(
    project_root, monkeypatch, causal_student, fake_teacher, tmp_path
):
    monkeypatch.chdir(project_root)
    fake_teacher(error="not in replay corpus")
    folder = tmp_path / "reference_checkpoint"
    causal_student.model.save_pretrained(folder)
    causal_student.tokenizer.save_pretrained(folder)
    trained = dataclasses.replace(
        causal_student,
        metadata={
            "validation_loss_before": 7.5,
            "validation_loss_after": 6.25,
            "training_data": {"validation_rows": 48, "train_rows": 100},
        },
    )
    monkeypatch.setattr(ev, "herd_members", lambda: [trained.name, REFERENCE_NAME])
    monkeypatch.setattr(ev, "reference_members", lambda: [REFERENCE_NAME])
    pipe = ev.create_pipeline()
    assert f"{REFERENCE_NAME}.checkpoint" not in pipe.inputs()  # nothing trained is read for it
    assert f"params:models.{REFERENCE_NAME}" in pipe.inputs()

    params = _params(KEPT_TASKS | {"arc_challenge"}, bootstrap_iters=10)  # mean metrics: analytic stderr
    catalog = _catalog(project_root, [trained], params, tmp_path)
    catalog[f"params:models.{REFERENCE_NAME}"] = ModelSpec.model_validate(
        {"family": "causal", "reference": True, "checkpoint": str(folder), "benchmark_wrapper": False}
    )
    catalog[f"{REFERENCE_NAME}.student"] = MemoryDataset(copy_mode="assign")
    catalog[f"params:models.{trained.name}"] = ModelSpec.model_validate(conf_block(f"models.{trained.name}"))
    SequentialRunner().run(pipe, catalog)

    summaries = catalog.load("herd_summaries")
    reference = summaries[REFERENCE_NAME]
    assert reference["role"] == "reference" and reference["status"] == "ok" and reference["num_parameters"] > 0
    assert reference["training"]["status"].startswith("not trained")
    arc = reference["benchmarks"]["arc_challenge"]
    assert arc["status"] == "ok" and arc["n_docs"] == 2 and arc["stderr"] is not None and not arc["wrapper"]
    assert summaries[trained.name]["training"]["validation_loss_after"] == 6.25

    table = catalog.load("herd_report").set_index("model")
    assert table.loc[REFERENCE_NAME, "kind"] == REFERENCE and table.loc[trained.name, "kind"] == OURS
    assert table.loc[REFERENCE_NAME, "arc_challenge_n"] == 2
    assert table.loc[REFERENCE_NAME, "arc_challenge_stderr"] == pytest.approx(arc["stderr"] * 100)
    assert table.loc[trained.name, "validation_loss_before"] == 7.5

    markdown = re.sub(r" +\|", " |", re.sub(r"\| +", "| ", catalog.load("herd_report_markdown")))  # unpadded
    row = next(line for line in markdown.splitlines() if line.startswith(f"| {REFERENCE_NAME} *(reference"))
    assert f"{arc['value'] * 100:.1f} ± {arc['stderr'] * 100:.1f} (2)" in row  # score ± stderr (n)
    assert "(1 task)" in row  # the shared-task average: arc_challenge is the one paper task scored
    loss = next(line for line in markdown.splitlines() if line.startswith(f"| {trained.name} ") and "7.500" in line)
    assert "| 7.500 | 6.250 | -1.250 | 48 |" in loss
    assert f"| {REFERENCE_NAME} *(reference)* | {folder} | not trained" in markdown


def test_benchmark_data_nodes_are_one_namespace_with_their_tags_and_dataset_names(monkeypatch):
    """kedro-viz folds the herd-wide fan-in of ``prepare_benchmark_docs_*`` into one ``benchmark_data`` group;
    the datasets keep their catalog names and ``--tags=benchmarks`` still selects every node."""
    monkeypatch.setattr(ev, "herd_members", lambda: ["a_model"])
    monkeypatch.setattr(ev, "reference_members", lambda: [])
    pipe = ev.create_pipeline()
    prepare = [n for n in pipe.nodes if n.name.split(".")[-1].startswith("prepare_benchmark_docs_")]
    data = sorted({d for _, _, d in task_wiring()})
    assert sorted(n.name for n in prepare) == sorted(f"benchmark_data.prepare_benchmark_docs_{d}_node" for d in data)
    for node in prepare:
        (raw,), (docs,) = node.inputs, node.outputs
        assert node.namespace == "benchmark_data" and node.tags == {"benchmarks"}
        assert raw.startswith("benchmark_raw_") and docs == raw.replace("benchmark_raw_", "benchmark_docs_")
    assert set(prepare) <= set(pipe.only_nodes_with_tags("benchmarks").nodes)
    assert {f"benchmark_raw_{d}" for d in data} <= pipe.inputs()
    assert "a_model.benchmarks.evaluate_sst2_node" in {n.name for n in pipe.only_nodes_with_tags("benchmarks").nodes}


def test_namespacing_and_catalog_patterns(project_root, monkeypatch):
    """One copy per member reading `<m>.checkpoint` and `params:models.<m>`; every output has a specific pattern."""
    import yaml
    from parse import parse

    monkeypatch.setattr(ev, "herd_members", lambda: ["a_model", "b", "r"])
    monkeypatch.setattr(ev, "reference_members", lambda: ["r"])  # a reference: its own loader, no checkpoint input
    pipe = ev.create_pipeline()
    inputs = pipe.inputs()
    assert {"a_model.checkpoint", "b.checkpoint", "params:models.a_model", "params:models.b"} <= inputs
    assert "params:models.r" in inputs and "r.checkpoint" not in inputs and "r.student" in pipe.all_outputs()
    assert not any(i.startswith(("a_model.benchmark_docs", "a_model.lamini_dataset")) for i in inputs)
    catalog = yaml.safe_load((project_root / "conf/base/catalog_evaluation.yml").read_text())
    patterns = [k for k in catalog if "{" in k]
    training = ["{model}.checkpoint", "{model}.tokenizer", "{model}.tokenized_{split}", "{model}.training_metrics"]
    in_memory: set[str] = set()
    for name in pipe.all_outputs() - in_memory:
        if name in catalog:
            continue
        matches = [p for p in patterns if parse(p, name)]
        assert len(matches) == 1, (name, matches)
        assert not any(parse(t, name) for t in training), name
    assert not any(p.startswith("{") and p.count("{") == 1 and p.endswith("}") for p in patterns)  # no catch-all


def test_a_checkpoint_that_fails_to_load_is_a_failed_to_load_row_and_the_others_are_scored(
    project_root, monkeypatch, causal_student, seq2seq_student, fake_teacher, tmp_path
):
    """A truncated ``model.safetensors``: the member is reported as "failed to load: <reason>", the run goes on."""
    monkeypatch.chdir(project_root)
    fake_teacher(error="not in replay corpus")
    members = [causal_student.name, seq2seq_student.name]
    monkeypatch.setattr(ev, "herd_members", lambda: members)
    folder = tmp_path / "broken" / seq2seq_student.name
    CheckpointDataset(filepath=str(folder)).save(seq2seq_student)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])
    catalog = _catalog(project_root, [causal_student, seq2seq_student], _params(), tmp_path)
    catalog[f"{seq2seq_student.name}.checkpoint"] = CheckpointDataset(filepath=str(folder), on_load_error="return")
    SequentialRunner().run(ev.create_pipeline(), catalog)

    table = catalog.load("herd_report").set_index("model")
    assert set(members) <= set(table.index)
    reason = f"checkpoint failed to load: SafetensorError: Error while deserializing header: invalid header length (checkpoint '{folder}')"
    assert table.loc[seq2seq_student.name, "status"] == reason
    assert table.loc[causal_student.name, "status"] == "ok"
    summaries = catalog.load("herd_summaries")
    assert summaries[causal_student.name]["benchmarks"]["truthfulqa_mc2"]["status"] == "ok"
    assert summaries[seq2seq_student.name]["benchmarks"]["truthfulqa_mc2"]["status"] == "error"
    assert summaries[seq2seq_student.name]["status"] == reason
    assert "failed to load: SafetensorError" in catalog.load("herd_report_markdown")
