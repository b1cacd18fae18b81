"""`kedro run --pipelines=evaluation --only-missing-outputs` after adding a herd member, in a Kedro session on a
throwaway copy of the project: only the new member is evaluated, its checkpoint is loaded once, and the herd
report is rebuilt from every member's results."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conf_params import one_item_evaluation
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lamini_lm import herd
from lamini_lm.datasets.checkpoint import CheckpointDataset

pytestmark = pytest.mark.slow

TINY = one_item_evaluation(  # conf/local/parameters.yml: one benchmark on 2 documents, one item of everything else
    {"limit": 2, "bootstrap_iters": 0, "batch_size": 8, "skip": None}
)


def _run(project: Path, members: list[str], **run_args) -> None:
    from lamini_lm.pipelines.evaluation.benchmarks import task_wiring

    params = yaml.safe_load(yaml.safe_dump(TINY))
    params["evaluation"]["benchmarks"]["skip"] = [key for _, key, _ in task_wiring() if key != "sst2"]
    params["herd"] = members
    (project / "conf/local/parameters.yml").write_text(yaml.safe_dump(params))
    bootstrap_project(project)
    try:
        with KedroSession.create(project_path=project) as session:
            session.run(pipeline_names=["evaluation"], **run_args)
    finally:
        herd.ACTIVE_HERD.reset()
        pipelines.configure("lamini_lm.pipeline_registry")


def _ours(project: Path) -> set[str]:
    table = pd.read_parquet(project / "data/08_reporting/herd_report.parquet")
    return set(table.loc[table["kind"] == "ours", "model"])


def test_a_member_added_later_reaches_the_herd_report_and_each_checkpoint_loads_once(
    project_copy, causal_student, seq2seq_student, monkeypatch
):
    for student in (causal_student, seq2seq_student):
        CheckpointDataset(filepath=str(project_copy / "data/06_models" / student.name)).save(student)
    loads: Counter[str] = Counter()
    real_load = CheckpointDataset._load_student

    def counting(self):
        loads[Path(str(self._filepath)).name] += 1
        return real_load(self)

    monkeypatch.setattr(CheckpointDataset, "_load_student", counting)

    _run(project_copy, [causal_student.name])
    assert _ours(project_copy) == {causal_student.name}
    assert loads == {causal_student.name: 1}  # one load feeds every node of the member
    first = project_copy / "data/07_model_output/evaluation" / causal_student.name / "benchmarks/sst2.json"
    written = first.stat().st_mtime_ns

    loads.clear()
    _run(project_copy, [causal_student.name, seq2seq_student.name], only_missing_outputs=True)
    assert _ours(project_copy) == {causal_student.name, seq2seq_student.name}  # the report was rebuilt
    assert loads == {seq2seq_student.name: 1}  # the finished member is not evaluated (nor loaded) again
    assert first.stat().st_mtime_ns == written
    markdown = (project_copy / "data/08_reporting/herd_report.md").read_text()
    assert seq2seq_student.name in markdown
    toxicity = pd.read_parquet(project_copy / "data/08_reporting/herd_toxicity_table.parquet")
    assert seq2seq_student.name in set(toxicity["member"])
