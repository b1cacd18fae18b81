"""Where task files are found: the package's tasks/ and the folders of ``evaluation.benchmarks.task_dirs``
(read by the wiring from the active environment, resolved by the harness); one file name in two folders is
an error naming both files; the report's extra columns follow the members' results."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm import herd
from lamini_lm.pipelines.evaluation import benchmarks as bm
from lamini_lm.pipelines.evaluation import harness, report
from lamini_lm.pipelines.evaluation.footnotes import Footnotes
from lamini_lm.pipelines.evaluation.herd_table import extra_benchmarks, herd_table
from lamini_lm.pipelines.evaluation.params import BenchmarkParams
from lamini_lm.pipelines.evaluation.pipeline import benchmark_data_pipeline, member_template

SETTINGS = BenchmarkParams.model_validate(
    conf_block("evaluation.benchmarks", limit=4, batch_size=8, bootstrap_iters=0, work_dir=None)
)
PACKAGED = sorted(p.name for p in bm.TASKS_DIR.glob("lamini_*.yaml"))


def _task(folder, key: str, data: str, paper_task: bool = False, metric: str = "acc"):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"lamini_{key}.yaml"
    path.write_text(
        f"task: lamini_{key}\noutput_type: multiple_choice\ndataset_path: json\n"
        "dataset_kwargs: {data_files: {test: __DOCS__}}\ntest_split: test\n"
        "doc_to_text: '{{premise}}\\nQuestion: {{hypothesis}}?\\nAnswer:'\ndoc_to_target: label\n"
        "doc_to_choice: ['yes', 'no']\n"
        f"metadata: {{version: 1, paper_task: {str(paper_task).lower()}, data: {data}, metric: {metric}, "
        f"paper_name: Task {key}, columns: {{premise: p, hypothesis: h, label: y}}, label_map: {{a: 0, b: 1}}}}\n"
    )
    return path


def test_base_sets_task_dirs_and_the_package_tasks_are_the_default():
    assert SETTINGS.task_dirs == []
    assert list(bm.task_files()) == PACKAGED
    assert [spec.key for spec in bm.task_specs()] == [name[len("lamini_") : -len(".yaml")] for name in PACKAGED]


def test_configured_folders_add_task_files_relative_to_the_project_root(tmp_path, monkeypatch):
    path = _task(tmp_path / "conf/local/tasks", "cb", "cb")
    files = bm.task_files(["conf/local/tasks"], root=tmp_path)
    assert list(files) == sorted([*PACKAGED, "lamini_cb.yaml"]) and files["lamini_cb.yaml"] == path
    assert bm.task_file_path("lamini_sst2.yaml", ["conf/local/tasks"], tmp_path) == bm.TASKS_DIR / "lamini_sst2.yaml"
    assert bm.task_files([str(tmp_path / "conf/local/tasks")])["lamini_cb.yaml"] == path  # absolute: as it is
    # Without a root and no session: the Kedro project the working directory is in (what `kedro run` finds).
    monkeypatch.setattr(herd.ACTIVE_HERD, "project_path", None)
    (tmp_path / "pyproject.toml").write_text('[tool.kedro]\npackage_name = "x"\nproject_name = "x"\n')
    monkeypatch.chdir(tmp_path / "conf")
    assert bm.project_root() == tmp_path
    assert bm.task_file_path("lamini_cb.yaml", ["conf/local/tasks"]) == path
    assert ("cb", "Task cb") in bm.extra_tasks(["conf/local/tasks"])
    assert bm.document_schema("cb", ["conf/local/tasks"])["label_map"] == {"a": 0, "b": 1}
    assert ("lamini_cb.yaml", "cb", "cb") in bm.task_wiring(["conf/local/tasks"])


def test_a_session_resolves_task_folders_under_its_own_project_not_the_working_directory(tmp_path, monkeypatch):
    path = _task(tmp_path / "project/conf/local/tasks", "cb", "cb")
    monkeypatch.chdir(tmp_path)  # e.g. a notebook calling KedroSession.create(project_path=...) from elsewhere
    monkeypatch.setattr(herd.ACTIVE_HERD, "project_path", tmp_path / "project")  # what ProjectContext records
    assert bm.project_root() == tmp_path / "project"
    assert bm.task_file_path("lamini_cb.yaml", ["conf/local/tasks"]) == path


def test_a_file_name_in_two_folders_is_an_error_naming_both(tmp_path):
    first, second = _task(tmp_path / "a", "cb", "cb"), _task(tmp_path / "b", "cb", "cb")
    with pytest.raises(ValueError, match="lamini_cb.yaml is in two folders") as error:
        bm.task_files([str(tmp_path / "a"), str(tmp_path / "b")])
    assert str(first) in str(error.value) and str(second) in str(error.value)
    clash = _task(tmp_path / "c", "sst2", "sst2")  # a packaged task's name
    with pytest.raises(ValueError, match=f"{bm.TASKS_DIR / 'lamini_sst2.yaml'} and {clash}"):
        bm.task_wiring([str(tmp_path / "c")])
    with pytest.raises(ValueError, match=r"task_dirs: 'nowhere' \(.*nowhere\) is not a folder"):
        bm.task_files(["nowhere"], root=tmp_path)


def test_the_harness_resolves_from_settings_and_reports_a_clash_as_a_bad_task_file(tmp_path, causal_student):
    _task(tmp_path / "a", "sst2", "sst2")
    settings = SETTINGS.model_copy(update={"task_dirs": [str(tmp_path / "a")]})
    docs = {"data": "sst2", "source": "t", "reason": None, "docs": [{"sentence": "good", "label": 1}]}
    result = harness.evaluate_benchmark(causal_student, docs, settings, 0, "lamini_sst2.yaml")
    assert result["status"] == "error" and result["reason"].startswith("bad task file: Task file lamini_sst2.yaml")
    assert "in two folders" in result["reason"]
    missing = harness.evaluate_benchmark(causal_student, docs, SETTINGS, 0, "lamini_cb.yaml")
    assert missing["reason"].startswith("bad task file: Task file lamini_cb.yaml is in none of the task folders")


def test_only_the_papers_15_may_be_paper_tasks(tmp_path):
    path = _task(tmp_path, "cb", "cb", paper_task=True)
    with pytest.raises(ValueError, match=r"lamini_cb.yaml: metadata.paper_task is true, but 'lamini_cb' is not one"):
        bm.read_task_spec(path)


def test_the_wiring_reads_task_dirs_from_the_active_environment(tmp_path):
    _task(tmp_path / "tasks", "cb", "cb")
    parameters = {
        "evaluation": {"benchmarks": conf_block("evaluation.benchmarks", task_dirs=[str(tmp_path / "tasks")])}
    }
    assert bm.configured_task_dirs(parameters) == [str(tmp_path / "tasks")]

    class Loader(dict):
        pass

    herd.ACTIVE_HERD.use(Loader(parameters=parameters))
    try:
        assert bm.configured_task_dirs() == [str(tmp_path / "tasks")]
        data = benchmark_data_pipeline()
        member = member_template("m")
    finally:
        herd.ACTIVE_HERD.reset()
    prepare = {n.name: n for n in data.nodes}["benchmark_data.prepare_benchmark_docs_cb_node"]
    assert prepare.inputs == ["benchmark_raw_cb"] and prepare.outputs == ["benchmark_docs_cb"]
    assert prepare.func.keywords["schema"]["columns"] == {"premise": "p", "hypothesis": "h", "label": "y"}
    evaluate = {n.name: n for n in member.nodes}["benchmarks.evaluate_cb_node"]
    assert (
        evaluate.func.keywords == {"task_file": "lamini_cb.yaml"} and "params:evaluation.benchmarks" in evaluate.inputs
    )
    assert "eval_benchmark_cb" in {n.name: n for n in member.nodes}["summarise_model_node"].inputs
    assert "benchmark_data.prepare_benchmark_docs_cb_node" not in {n.name for n in benchmark_data_pipeline([]).nodes}


def test_the_report_shows_every_extra_task_a_member_was_scored_on():
    summary = {
        "model": "m",
        "member": "m",
        "status": "ok",
        "benchmarks": {
            "sst2": {"status": "ok", "value": 0.5, "stderr": 0.1, "n_docs": 20, "paper_task": True},
            "cb": {"status": "ok", "value": 0.25, "stderr": 0.05, "n_docs": 8, "paper_task": False, "paper_name": "CB"},
        },
        "benchmark_average": 0.5,
        "benchmarks_scored": 1,
        "benchmarks_total": 15,
    }
    extras = extra_benchmarks([summary])
    assert extras[-1] == ("cb", "CB") and ("boolq", "BoolQ") in extras and ("sst2", "SST-2") not in extras
    paper = pd.read_csv(bm.project_root() / "data/01_raw/paper/results_15_tasks.csv")
    table = herd_table([summary], {}, paper)
    row = table[table["kind"] == "ours"].iloc[0]
    assert row["cb"] == 25.0 and row["cb_n"] == 8 and row["cb_stderr"] == 5.0
    lines = "\n".join(report.benchmark_section(table, [summary], Footnotes(), 100)).splitlines()
    header = next(line for line in lines if line.startswith("| model"))
    assert header.rstrip(" |").endswith("CB (extra)")
    ours = next(line for line in lines if line.startswith("| m "))
    assert ours.rstrip(" |").endswith("25.0 ± 5.0 (8)†")
