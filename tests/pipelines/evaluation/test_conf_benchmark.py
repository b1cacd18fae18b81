"""A benchmark added with files under conf/ only (docs/evaluation.md, "Adding a benchmark"): a task file in a
folder of ``evaluation.benchmarks.task_dirs`` and its ``benchmark_raw_<data>`` catalog entry. In a Kedro
session on a throwaway copy of the project, the evaluation pipeline scores it and the herd report shows it,
beside the paper's 15 and outside their average."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from conf_params import one_item_evaluation
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lamini_lm import herd
from lamini_lm.datasets.checkpoint import CheckpointDataset
from lamini_lm.pipelines.evaluation.benchmarks import task_wiring

pytestmark = pytest.mark.slow

# SuperGLUE CommitmentBank (bundled: data/01_raw/benchmarks/superglue_cb/val.jsonl, 56 rows): lm-eval
# 0.4.13's super_glue/cb/default.yaml on our documents, its labels mapped by the task file.
CB_TASK = """\
task: lamini_cb
output_type: multiple_choice
dataset_path: json
dataset_kwargs:
  data_files:
    test: __DOCS__
test_split: test
doc_to_text: "{{premise}}\\nQuestion: {{hypothesis}}. True, False, or Neither?\\nAnswer:"
doc_to_target: label
doc_to_choice: ['True', 'False', 'Neither']
metric_list:
  - metric: acc
metadata:
  version: 1.0
  paper_task: false
  data: cb
  metric: acc
  paper_name: CommitmentBank
  columns: {premise: premise, hypothesis: hypothesis, label: label}
  label_map: {entailment: 0, contradiction: 1, neutral: 2}
"""
CB_CATALOG = """\
benchmark_raw_cb:
  type: lamini_lm.datasets.benchmark_source.BenchmarkSourceDataset
  filepath: data/01_raw/benchmarks/superglue_cb/val.jsonl
  metadata: {kedro-viz: {layer: raw}}
"""
TINY = one_item_evaluation(  # every package task skipped, the new one on 3 documents, one item of everything else
    {
        "limit": 3,
        "bootstrap_iters": 100,
        "batch_size": 8,
        "skip": [key for _, key, _ in task_wiring()],
        "task_dirs": ["conf/local/tasks"],
    }
)


def test_a_task_file_and_catalog_entry_in_conf_are_scored_and_reported(project_copy, causal_student, monkeypatch):
    project = project_copy
    CheckpointDataset(filepath=str(project / "data/06_models" / causal_student.name)).save(causal_student)
    (project / "conf/local/tasks").mkdir()
    (project / "conf/local/tasks/lamini_cb.yaml").write_text(CB_TASK)
    (project / "conf/local/catalog_cb.yml").write_text(CB_CATALOG)
    (project / "conf/local/parameters.yml").write_text(yaml.safe_dump(TINY | {"herd": [causal_student.name]}))
    monkeypatch.chdir(project)  # `kedro run` runs in the project: task_dirs are relative to it

    bootstrap_project(project)
    try:
        with KedroSession.create(project_path=project) as session:
            nodes = {n.name for n in pipelines["evaluation"].nodes}
            session.run(pipeline_names=["evaluation"])
    finally:
        herd.ACTIVE_HERD.reset()
        pipelines.configure("lamini_lm.pipeline_registry")

    assert {
        "benchmark_data.prepare_benchmark_docs_cb_node",
        f"{causal_student.name}.benchmarks.evaluate_cb_node",
    } <= nodes
    result = json.loads(
        (project / "data/07_model_output/evaluation" / causal_student.name / "benchmarks/cb.json").read_text()
    )
    assert result["status"] == "ok", result["reason"]
    assert result["n_docs"] == 3 and 0 <= result["value"] <= 1 and result["paper_task"] is False
    assert result["paper_name"] == "CommitmentBank"

    table = pd.read_parquet(project / "data/08_reporting/herd_report.parquet")
    ours = table[table["kind"] == "ours"].set_index("model").loc[causal_student.name]
    assert ours["cb"] == pytest.approx(100 * result["value"]) and ours["cb_n"] == 3
    assert ours["benchmarks_scored"] == "0/15"  # an extra: outside the paper's average
    markdown = (project / "data/08_reporting/herd_report.md").read_text()
    assert "CommitmentBank (extra)" in markdown
    assert f"{100 * result['value']:.1f} ± " in markdown.split("CommitmentBank (extra)", 1)[1]
