"""The herd report does not overstate: uncertainty and size on every cell of ours, averages over the same
tasks, a provenance header, one footnote per reason, figures that say when there is nothing to plot."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.evaluation import provenance, report
from lamini_lm.pipelines.evaluation.figures import herd_figures
from lamini_lm.pipelines.evaluation.footnotes import Footnotes, short_word
from lamini_lm.pipelines.evaluation.herd_table import herd_table, shared_averages
from lamini_lm.pipelines.evaluation.judge_check import check_verdict
from lamini_lm.pipelines.evaluation.outcome import NO_LIVE_JUDGE, UNPARSABLE
from lamini_lm.pipelines.evaluation.params import ReportParams
from lamini_lm.reporting import dataframe_markdown
from lamini_lm.teacher.config import TeacherSettings

RAW = Path(__file__).resolve().parents[3] / "data/01_raw/paper"
PAPER = pd.read_csv(RAW / "results_15_tasks.csv")


def _squash(markdown: str) -> str:
    return re.sub(r" +\|", " |", re.sub(r"\| +", "| ", markdown))


def _member(name: str, n_docs: int, **extra) -> dict:
    return {
        "model": name,
        "member": name,
        "family": "seq2seq",
        "num_parameters": 783_150_080,
        "status": "ok",
        "reference": "LaMini-Flan-T5-783M",
        "base_reference": None,
        "benchmarks": {
            "hellaswag": {"status": "ok", "value": 0.40, "stderr": 0.049, "n_docs": n_docs},
            "sciq": {"status": "ok", "value": 0.80, "stderr": 0.04, "n_docs": n_docs},
            "rte": {"status": "no data", "value": None},
        },
        "benchmark_average": 0.60,
        "benchmarks_scored": 2,
        "benchmarks_total": 15,
        **extra,
    }


def test_min_docs_is_set_in_conf():
    assert ReportParams.model_validate(conf_block("evaluation.report")).min_docs == 100


@pytest.mark.parametrize("n_docs, dagger", [(20, True), (100, False)])
def test_every_cell_of_ours_reads_score_stderr_n_and_few_documents_are_marked(n_docs, dagger):
    table = herd_table([_member("ours_t5", n_docs)], {}, PAPER)
    notes = Footnotes()
    markdown = _squash("\n".join(report.benchmark_section(table, [_member("ours_t5", n_docs)], notes, 100)))
    cell = f"40.0 ± 4.9 ({n_docs})" + ("†" if dagger else "")
    assert f"| {cell} |" in markdown
    footnotes = "\n".join(notes.lines())
    assert ("indicative only: scored on fewer than 100 documents" in footnotes) is dagger
    # Paper rows stay as published: no ± on them.
    assert "| ↳ LaMini-Flan-T5-783M *(paper, Table 10)* | 783M | 34.0 | 86.7 |" in markdown


def test_shared_task_averages_on_a_hand_made_frame():
    ours = pd.Series({"sciq": 80.0, "hellaswag": 40.0, "rte": math.nan})
    paper = pd.Series({"sciq": 90.0, "hellaswag": 50.0, "rte": 70.0, "piqa": 60.0})
    assert shared_averages(ours, paper) == (pytest.approx(60.0), pytest.approx(70.0), 2)
    assert shared_averages(pd.Series({"sciq": math.nan}), paper)[2] == 0


def test_the_report_sets_shared_averages_side_by_side_and_keeps_the_15_for_complete_rows():
    table = herd_table([_member("ours_t5", 500)], {}, PAPER)
    notes = Footnotes()
    markdown = _squash("\n".join(report.benchmark_section(table, [_member("ours_t5", 500)], notes, 100)))
    assert "| avg (15) | avg (k tasks shared) |" in markdown
    # Ours over its 2 tasks; the paper's LaMini-Flan-T5-783M row over the same 2 (86.7 sciq, 43.7 hellaswag).
    assert "| 60.0 (2 tasks) |" in markdown
    assert f"| 60.8 | {(86.7 + 43.7) / 2:.1f} (2 shared) |" in markdown
    assert "only 2 scored, so none is shown" in "\n".join(notes.lines())


def test_footnotes_are_deduplicated_and_each_reason_has_a_short_word():
    notes = Footnotes()
    cells = [notes.cell(NO_LIVE_JUDGE) for _ in range(40)] + [notes.cell(UNPARSABLE)]
    assert set(cells[:40]) == {"n/j¹"} and cells[40] == "unparsed²"
    lines = notes.lines()
    assert lines[0] == "## Footnotes" and len(lines) == 4
    assert "no live judge" in lines[2] and "did not parse" in lines[3]
    assert short_word("judge failed its check: 0 of 33 replies parsed") == "withheld"
    assert short_word("checkpoint failed to load: OSError: gone") == "failed"
    assert Footnotes().lines() == []


def test_a_judge_that_parsed_nothing_says_so_not_zero_percent():
    assert check_verdict(0.0, False, 0.8, parsed=0, n=33) == "judge failed its check: 0 of 33 replies parsed"
    assert check_verdict(0.33, False, 0.8, parsed=33, n=33) == "judge failed its check (accuracy 33%)"
    assert (
        check_verdict(0.0, False, 0.8, parsed=1, n=12)
        == "judge failed its check (accuracy 0%, only 1 of 12 replies parsed)"
    )


def test_the_header_names_when_commit_environment_run_teacher_and_judge(monkeypatch):
    monkeypatch.setenv("KEDRO_ENV", "paper")
    teacher = TeacherSettings.model_validate(conf_block("teacher"))
    check = {"status": "judged", "passed": True, "verdict": "judge passed its check (accuracy 90%, threshold 80%)"}
    header = "\n".join(report.report_header(teacher, "gpt-4o-mini", check))
    assert re.search(r"- Built: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC", header)
    assert re.search(r"- Commit: `([0-9a-f]{40}|unknown)", header)
    assert "- Kedro environment: `paper`" in header
    assert "- MLflow run: none (no active MLflow run)" in header
    assert f"- Teacher: {teacher.model} (backend `{teacher.backend}`)" in header
    assert "- Judge: gpt-4o-mini — judge passed its check" in header


def test_the_hook_records_the_run_environment_and_forgets_it_after_the_run(monkeypatch):
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    hook = provenance.RUN_PROVENANCE
    hook.before_pipeline_run({"env": "paper"}, None, None)
    try:
        assert provenance.kedro_environment() == "paper"
    finally:
        hook.after_pipeline_run({"env": "paper"}, None, None)
    assert provenance.kedro_environment() == "unknown"


def test_the_commit_is_unknown_outside_a_git_checkout(tmp_path):
    assert provenance.git_commit(str(tmp_path)) == "unknown"


def test_the_mlflow_run_id_is_the_active_run(tmp_path, monkeypatch):
    import mlflow

    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")
    mlflow.set_tracking_uri(f"file://{tmp_path}/mlruns")
    with mlflow.start_run() as run:
        assert provenance.mlflow_run_id() == run.info.run_id
    assert provenance.mlflow_run_id() is None


def test_a_figure_with_nothing_to_plot_says_so_in_its_title():
    summary = _member(
        "ours_t5",
        20,
        user_ratings={"status": NO_LIVE_JUDGE},
        lamini_hallucination={"status": NO_LIVE_JUDGE},
        falseqa={"status": NO_LIVE_JUDGE},
        toxicity={"status": "not scored (no toxicity classifier configured)"},
    )
    figures = herd_figures(herd_table([summary], {}, PAPER))
    ratings = figures["ratings_stacked.png"]
    assert ratings.axes == [] and "nothing to plot" in ratings._suptitle.get_text()
    assert any("not judged (no live judge)" in t.get_text() for t in ratings.texts)
    empty = figures["hallucination_toxicity.png"]
    assert empty.axes == [] and "nothing to plot" in empty._suptitle.get_text()
    average = figures["benchmark_average_vs_parameters.png"].axes[0]
    assert "ours_t5 (2/15 tasks)" in {t.get_text() for t in average.texts}


def test_the_report_tables_are_dataframe_to_markdown():
    table = dataframe_markdown(["a", "b"], [["1.0", "x"], ["2", "y z"]])
    assert table == pd.DataFrame({"a": ["1.0", "2"], "b": ["x", "y z"]}).to_markdown(
        index=False, tablefmt="pipe", disable_numparse=True
    )
    assert _squash(table).splitlines()[2] == "| 1.0 | x |"  # numbers are not re-formatted
