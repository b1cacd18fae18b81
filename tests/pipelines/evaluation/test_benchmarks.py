"""Benchmark sources, normalisers and task files: real bundled data, failure cases named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kedro.io import DataCatalog

from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
from lamini_lm.pipelines.evaluation import benchmarks as bm
from lamini_lm.pipelines.evaluation import harness
from lamini_lm.pipelines.evaluation.normalisers import normalise_docs

EXPECTED_DOCS = {
    "openbookqa": 500,
    "arc_challenge": 1172,
    "piqa": 1838,
    "sst2": 872,
    "mrpc": 408,
    "rte": 277,
    "wsc273": 273,
    "winogrande": 1267,
    "wic": 638,
    "hellaswag": 10042,
    "truthfulqa": 817,
}
NO_DATA = {"sciq", "race", "record", "mnli", "mnli_mismatch"}


@pytest.fixture(scope="module")
def base_catalog(project_root) -> DataCatalog:
    config = yaml.safe_load((project_root / "conf/base/catalog_evaluation.yml").read_text())
    entries = {k: v for k, v in config.items() if k.startswith("benchmark_raw_")}
    for entry in entries.values():
        for key in ("filepath", "labels_filepath"):
            if key in entry:
                entry[key] = str(project_root / entry[key])
    return DataCatalog.from_config(entries)


def test_every_task_file_is_complete_and_has_catalog_data(base_catalog):
    specs = bm.task_specs()
    assert {s.key for s in specs} >= set(EXPECTED_DOCS) - {"truthfulqa"} | NO_DATA | {
        "truthfulqa_mc1",
        "truthfulqa_mc2",
    }
    assert len([s for s in specs if s.paper_task]) == 15  # the paper's 15 tasks; TruthfulQA is an extra
    assert {s.key for s in specs if not s.paper_task} == {"truthfulqa_mc1", "truthfulqa_mc2", "boolq"}  # extras
    paper_metric = {
        "openbookqa": "acc_norm",
        "sciq": "acc_norm",
        "arc_challenge": "acc_norm",
        "piqa": "acc_norm",
        "hellaswag": "acc_norm",
        "record": "f1",
        "rte": "acc",
        "wsc273": "acc",
    }
    for spec in specs:
        assert f"benchmark_raw_{spec.data}" in base_catalog.keys()
        assert spec.metric == paper_metric.get(spec.key, spec.metric)
        assert bm.DOCS_PLACEHOLDER in spec.path.read_text()


def test_bundled_files_normalise_to_the_paper_splits(base_catalog):
    for data, expected in EXPECTED_DOCS.items():
        result = harness.prepare_benchmark_docs(base_catalog.load(f"benchmark_raw_{data}"), data)
        assert result["reason"] is None, result["reason"]
        assert len(result["docs"]) == expected, data
    for data in NO_DATA:
        result = harness.prepare_benchmark_docs(base_catalog.load(f"benchmark_raw_{data}"), data)
        assert result["docs"] is None and result["reason"].startswith("no data")


def test_normalised_docs_have_the_task_schema(base_catalog):
    obqa = normalise_docs("openbookqa", base_catalog.load("benchmark_raw_openbookqa"))[0]
    assert obqa["choices"]["label"] == ["A", "B", "C", "D"] and obqa["answerKey"] == "B"
    assert obqa["choices"]["text"][1] == "quit eating lunch out"
    rte = normalise_docs("rte", base_catalog.load("benchmark_raw_rte"))[0]
    assert rte["label"] == 1  # not_entailment, GLUE encoding
    wsc = normalise_docs("wsc273", base_catalog.load("benchmark_raw_wsc273"))[0]
    assert wsc["text"][wsc["pronoun_loc"] :].startswith(wsc["pronoun"])
    tqa = normalise_docs("truthfulqa", base_catalog.load("benchmark_raw_truthfulqa"))[0]
    assert tqa["mc1_targets"]["labels"][0] == 1 and sum(tqa["mc1_targets"]["labels"]) == 1
    assert sum(tqa["mc2_targets"]["labels"]) == 5
    sst2 = normalise_docs("sst2", base_catalog.load("benchmark_raw_sst2"))[0]
    assert sst2["sentence"] == "it 's a charming and often affecting journey . "  # GLUE's trailing space kept
    hellaswag = normalise_docs("hellaswag", base_catalog.load("benchmark_raw_hellaswag"))
    assert hellaswag[0] == {  # the Hub's row: ctx_b split off again for lm-eval to capitalise
        "activity_label": "Roof shingle removal",
        "ctx_a": "A man is sitting on a roof.",
        "ctx_b": "he",
        "endings": [
            "is using wrap to wrap a pair of skis.",
            "is ripping level tiles off.",
            "is holding a rubik's cube.",
            "starts pulling up roofing on a roof.",
        ],
        "label": 3,
    }
    ended = [d for d in hellaswag if d["ctx_a"].endswith(".") and not d["ctx_b"]]
    assert len(ended) == 6799 and not any(d["ctx_b"][:1].isupper() for d in hellaswag)


def test_hellaswag_text_goes_through_lm_evals_preprocessing():
    """lm-eval capitalises ctx_b and removes every [...] marker (lm_eval/tasks/hellaswag/utils.py)."""
    import datasets

    from lamini_lm.pipelines.evaluation.tasks import utils

    lines = [
        "Personal care: Wash with soap [not recommended]. the woman",  # a marker klosax's text left in
        "2",
        "scrubs.",
        "[insert name] leaves.",
        "sings.",
        "sleeps.",
    ]
    doc = normalise_docs("hellaswag", {"records": [{"line": x} for x in lines], "source": "t"})[0]
    assert (doc["activity_label"], doc["ctx_a"], doc["ctx_b"]) == (
        "Personal care",
        "Wash with soap [not recommended].",
        "the woman",
    )
    processed = utils.hellaswag_process_docs(datasets.Dataset.from_list([doc]))[0]
    assert processed["query"] == "Personal care: Wash with soap . The woman"
    assert processed["choices"] == ["scrubs.", " leaves.", "sings.", "sleeps."] and processed["gold"] == 2


def test_hub_records_normalise_for_the_paper_environment():
    raw = lambda *records: {"records": list(records), "source": "hf:test"}  # noqa: E731
    sciq = normalise_docs(
        "sciq",
        raw(
            {
                "question": "q",
                "distractor1": "a",
                "distractor2": "b",
                "distractor3": "c",
                "correct_answer": "d",
                "support": "s",
            }
        ),
    )
    assert sciq[0]["correct_answer"] == "d"
    race = normalise_docs("race", raw({"article": "x", "question": "q", "options": list("abcd"), "answer": "C"}))
    assert race == [
        {"article": "x", "problems": [{"question": "q", "options": list("abcd"), "answer": "C"}], "example_id": None}
    ]
    record = normalise_docs(
        "record",
        raw(
            {
                "passage": "P\n@highlight\nH",
                "query": "@placeholder won",
                "entities": ["Bob", "Ann", "Bob"],
                "answers": ["Bob"],
            }
        ),
    )
    assert record == [
        {
            "passage": "P\n@highlight\nH",
            "query": "@placeholder won",
            "entities": ["Bob", "Ann", "Bob"],
            "answers": ["Bob"],
        }
    ]
    hs = normalise_docs(
        "hellaswag",
        raw(
            {
                "activity_label": "Cooking",
                "ctx_a": "A man",
                "ctx_b": "cuts [title] it",
                "endings": ["x", "y"],
                "label": "1",
            }
        ),
    )
    assert hs == [
        {"activity_label": "Cooking", "ctx_a": "A man", "ctx_b": "cuts [title] it", "endings": ["x", "y"], "label": 1}
    ]
    mnli = normalise_docs("mnli", raw({"premise": "p", "hypothesis": "h", "label": 2}))
    assert mnli[0]["label"] == 2


def test_bad_row_names_benchmark_source_row_and_field():
    raw = {
        "records": [{"goal": "g", "sol1": "a", "sol2": "b", "label": "0"}, {"goal": "g", "sol1": "a"}],
        "source": "piqa/valid.jsonl",
    }
    with pytest.raises(ValueError, match=r"'piqa' \(piqa/valid.jsonl\), row 1: missing field 'sol2'"):
        normalise_docs("piqa", raw)
    result = harness.prepare_benchmark_docs(raw, "piqa")
    assert result["docs"] is None and "row 1" in result["reason"] and result["reason"].startswith("bad data")


def test_label_file_must_match_records(tmp_path):
    (tmp_path / "d.jsonl").write_text('{"goal": "g", "sol1": "a", "sol2": "b"}\n')
    (tmp_path / "l.txt").write_text("0\n1\n")
    source = BenchmarkSourceDataset(filepath=str(tmp_path / "d.jsonl"), labels_filepath=str(tmp_path / "l.txt"))
    raw = source.load()
    assert raw["records"] is None and "l.txt has 2 labels but" in raw["error"] and "has 1 records" in raw["error"]


def test_task_file_with_missing_fields_is_named(tmp_path, monkeypatch):
    bad = tmp_path / "lamini_broken.yaml"
    bad.write_text("task: lamini_broken\noutput_type: multiple_choice\nmetadata: {version: 1}\n")
    with pytest.raises(ValueError, match=r"lamini_broken.yaml: missing field\(s\) doc_to_text.*metadata.data"):
        bm.read_task_spec(bad)
    monkeypatch.setattr(bm, "TASKS_DIR", tmp_path)
    assert bm.task_wiring() == [("lamini_broken.yaml", "broken", "broken")]


def test_materialised_task_points_at_its_documents(tmp_path):
    spec = next(s for s in bm.task_specs() if s.key == "sst2")
    docs = [{"sentence": f"s{i}", "label": i % 2} for i in range(5)]
    folder = bm.materialise_task(spec, docs, tmp_path, 3, "lm_eval_0_4")
    assert bm.materialise_task(spec, docs, tmp_path, 3, "lm_eval_0_4") == folder  # same content: reused
    assert bm.materialise_task(spec, docs, tmp_path, 4, "lm_eval_0_4") != folder
    assert bm.materialise_task(spec, docs, tmp_path, 3, "paper_2023") != folder
    written = (folder / "lamini_sst2.jsonl").read_text().splitlines()
    assert len(written) == 3
    config = yaml.safe_load((folder / "lamini_sst2.yaml").read_text())
    assert Path(config["dataset_kwargs"]["data_files"]["test"]) == folder / "lamini_sst2.jsonl"
    assert (folder / "utils.py").exists()


def test_a_task_without_a_normaliser_in_code_is_described_by_its_task_file(tmp_path):
    """BoolQ: metadata.columns and metadata.label_map turn SuperGLUE's rows into documents; a label outside
    the map is an error naming the row."""
    from lamini_lm.pipelines.evaluation.benchmarks import document_schema, extra_tasks
    from lamini_lm.pipelines.evaluation.harness import prepare_benchmark_docs

    schema = document_schema("boolq")
    assert schema["columns"] == {"passage": "passage", "question": "question", "label": "label"}
    raw = {"records": [{"passage": "P", "question": "q", "label": "true", "idx": 0}], "source": "val.jsonl"}
    assert prepare_benchmark_docs(raw, "boolq", schema)["docs"] == [{"passage": "P", "question": "q", "label": 1}]
    raw["records"].append({"passage": "P", "question": "q", "label": "maybe"})
    bad = prepare_benchmark_docs(raw, "boolq", schema)
    assert bad["docs"] is None and "row 1" in bad["reason"] and "label_map" in bad["reason"]
    assert "No normaliser for benchmark data 'boolq'" in prepare_benchmark_docs(raw, "boolq")["reason"]
    assert ("boolq", "BoolQ") in extra_tasks() and ("truthfulqa_mc1", "TruthfulQA MC1") in extra_tasks()
