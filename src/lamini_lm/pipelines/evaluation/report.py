"""The herd report: the model x metric table (parquet + markdown) with every published number of the
paper as a reference row, ours beside the paper's, the LaMini-Hallucination counts beside Table 5,
and the plots a person would rather look at."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation import provenance
from lamini_lm.pipelines.evaluation.figures import herd_figures
from lamini_lm.pipelines.evaluation.footnotes import Footnotes
from lamini_lm.pipelines.evaluation.herd_table import (
    DIFFERENCE,
    EVALUATED,
    OURS,
    PAPER,
    RECORDED,
    REFERENCE,
    extra_benchmarks,
    herd_table,
    n_column,
    shared_averages,
    stderr_column,
)
from lamini_lm.pipelines.evaluation.judge import judge_settings
from lamini_lm.pipelines.evaluation.judge_check import judge_check_section, withhold_failed_judgements
from lamini_lm.pipelines.evaluation.outcome import MEASURED, NO_LIVE_JUDGE, Status
from lamini_lm.pipelines.evaluation.paper_tables import (
    BENCHMARK_ORDER,
    HALLUCINATION_CATEGORIES,
    hallucination_counts_table,
    paper_results,
)
from lamini_lm.pipelines.evaluation.params import BenchmarkParams, JudgeParams, ReportParams, UserOrientedParams
from lamini_lm.pipelines.evaluation.summary import NOT_TRAINED, SECTIONS
from lamini_lm.pipelines.evaluation.summary import REFERENCE as REFERENCE_ROLE
from lamini_lm.reporting import dataframe_markdown
from lamini_lm.teacher.config import TeacherSettings


def _cell(row: pd.Series, column: str, status: str | None, notes: Footnotes, fmt: str = "{:.1f}") -> str:
    """``row[column]`` formatted, or (no value) a short word and the footnote of ``status``."""
    value = row.get(column)
    if value is not None and not pd.isna(value):
        return fmt.format(value)
    return _missing(status, notes)


def _missing(status: Any, notes: Footnotes) -> str:
    """A cell with no value: the short word and footnote of ``status``, or ``–`` when there is no reason."""
    if isinstance(status, str) and status and status not in MEASURED:
        return notes.cell(status)
    return "–"


def _params(n: Any) -> str:
    if n is None or pd.isna(n):
        return "–"
    n = float(n)
    text = f"{n / 1e9:.1f}B" if n >= 1e9 else f"{n / 1e6:.0f}M" if n >= 1e6 else f"{n / 1e3:.0f}K"
    return text.replace(".0B", "B")


def _name(row: pd.Series) -> str:
    if row["kind"] == PAPER:
        return f"{row['model']} *(paper, {str(row['paper_table']).removeprefix('EACL 2024 ')})*"
    if row["kind"] == DIFFERENCE:
        return f"Δ ours − {row['paper_reference']}"
    if row["kind"] == REFERENCE:
        return f"{row['model']} *(reference: evaluated as is, not trained)*"
    return str(row["model"]) + (" *(tiny)*" if "tiny" in str(row["note"]) else "")


def _short_name(model: Any, tiny: bool, reference: bool) -> str:
    """A member's name with its label: *(tiny)* for a demo student, *(reference)* for a reference model."""
    return str(model) + (" *(reference)*" if reference else " *(tiny)*" if tiny else "")


def _with_uncertainty(cell: str, row: pd.Series, task: str, min_docs: int, notes: Footnotes) -> str:
    """``score ± stderr (n)``: a scored cell with its standard error and how many documents were scored; a
    dagger (footnoted) when n is below ``min_docs`` or unknown."""
    stderr, n = row.get(stderr_column(task)), row.get(n_column(task))
    if pd.isna(row.get(task)):
        return cell
    spread = f" ± {stderr:.1f}" if stderr is not None and not pd.isna(stderr) else " ± ?"
    count = f" ({int(n)})" if n is not None and not pd.isna(n) else " (n ?)"
    few = n is None or pd.isna(n) or n < min_docs
    return f"{cell}{spread}{count}" + (notes.indicative(min_docs) if few else "")


def _partial_average(row: pd.Series, notes: Footnotes) -> str:
    """The average of the paper's 15 for one of our rows: only when all 15 were scored."""
    scored = _scored(row)
    if scored == len(BENCHMARK_ORDER) and not pd.isna(row["benchmark_average"]):
        fmt = "{:+.1f}" if row["kind"] == DIFFERENCE else "{:.1f}"
        return fmt.format(row["benchmark_average"])
    return "—" + notes.mark(
        f"average of the paper's {len(BENCHMARK_ORDER)} tasks: only {scored} scored, so none is shown; the "
        "`avg (k tasks shared)` column compares ours and the paper's over the same tasks."
    )


def _benchmark_cells(
    row: pd.Series,
    statuses: dict[str, Any],
    notes: Footnotes,
    min_docs: int,
    tasks: Sequence[str] = BENCHMARK_ORDER,
) -> list[str]:
    """One cell per task of ``tasks``; one of ours (trained or reference) reads ``score ± stderr (n)``, a
    paper row as published, a difference row signed."""
    fmt = "{:+.1f}" if row["kind"] == DIFFERENCE else "{:.1f}"
    cells = []
    for task in tasks:
        cell = _cell(row, task, (statuses.get(task) or {}).get("status"), notes, fmt)
        cells.append(_with_uncertainty(cell, row, task, min_docs, notes) if row["kind"] in EVALUATED else cell)
    return cells


def _scored(row: pd.Series) -> int:
    """How many of the paper's tasks ``row`` scored (its ``benchmarks_scored``, ``k/15``)."""
    return int(str(row["benchmarks_scored"]).split("/")[0])


def _shared(value: float, k: int, fmt: str = "{:.1f}") -> str:
    return f"{fmt.format(value)} ({k} shared)" if k else "–"


def benchmark_section(
    table: pd.DataFrame, summaries: list[dict[str, Any]], notes: Footnotes, min_docs: int
) -> list[str]:
    """Ours, each member followed by the paper's LaMini row, its base model's row and ours − LaMini row.

    Each of our cells reads ``score ± stderr (n)`` (a dagger below ``min_docs``); ``avg (15)`` is the
    average of the paper's 15 tasks (ours only where all 15 were scored), ``avg (k tasks shared)`` ours over
    the k tasks we scored and each paper row beside it re-averaged over the same k."""
    bench_status = {s.get("model"): s.get("benchmarks") or {} for s in summaries}
    by_name = {row["model"]: row for _, row in table[table["kind"] == PAPER].iterrows()}
    differences = {row["member"]: row for _, row in table[table["kind"] == DIFFERENCE].iterrows()}
    extra_columns = extra_benchmarks(summaries)
    no_extras = [""] * len(extra_columns)
    header = [
        "model",
        "params",
        *BENCHMARK_ORDER,
        f"avg ({len(BENCHMARK_ORDER)})",
        "avg (k tasks shared)",
        *(f"{name} (extra)" for _, name in extra_columns),
    ]
    rows = []
    for _, row in table[table["kind"].isin(EVALUATED)].iterrows():
        statuses = bench_status.get(row["model"], {})
        extras = _benchmark_cells(row, statuses, notes, min_docs, [key for key, _ in extra_columns])
        own, _, k = shared_averages(row, row)
        rows.append(
            [
                _name(row),
                _params(row["num_parameters"]),
                *_benchmark_cells(row, statuses, notes, min_docs),
                _partial_average(row, notes),
                f"{own:.1f} ({k} task{'s' if k > 1 else ''})" if k else "–",
                *extras,
            ]
        )
        for key in ("paper_reference", "paper_base_reference"):
            if not pd.isna(row[key]):
                paper = by_name[row[key]]
                _, theirs, k = shared_averages(row, paper)
                rows.append(
                    [
                        "↳ " + _name(paper),
                        _params(paper["num_parameters"]),
                        *_benchmark_cells(paper, {}, notes, min_docs),
                        f"{paper['benchmark_average']:.1f}",
                        _shared(theirs, k),
                        *no_extras,
                    ]
                )
        if row["member"] in differences:
            difference = differences[row["member"]]
            rows.append(
                [
                    "↳ " + _name(difference),
                    "",
                    *_benchmark_cells(difference, {}, notes, min_docs),
                    _partial_average(difference, notes),
                    _shared(difference["benchmark_average"], _scored(difference), "{:+.1f}"),
                    *no_extras,
                ]
            )
    lines = [
        "## NLP benchmarks (zero-shot, %): ours beside the paper's",
        "",
        "Each of our cells reads score ± standard error (documents scored), in percentage points, as lm-eval "
        f"reports them; † marks a score on fewer than {min_docs} documents (indicative only). Paper rows are as "
        f"published. `avg ({len(BENCHMARK_ORDER)})` is the average of the paper's {len(BENCHMARK_ORDER)} tasks, "
        f"shown for ours only where all {len(BENCHMARK_ORDER)} were scored; `avg (k tasks shared)` is ours over "
        "the k paper tasks we scored, and each paper row beside it re-averaged over the same k tasks.",
        "",
    ]
    if (table["kind"] == REFERENCE).any():
        lines += [
            "Rows marked *reference* are models evaluated from their checkpoint as they are, not trained "
            "(`reference: true` under `models:`).",
            "",
        ]
    ours = table[table["kind"].isin(EVALUATED)]
    if not (ours["paper_reference"].notna() | ours["paper_base_reference"].notna()).any():
        lines += [
            "No herd member names a paper row (`paper_reference` / `paper_base_reference` under `models:` in "
            "parameters_training.yml), so none is set beside ours here; every published row is in the next table.",
            "",
        ]
    else:
        lines += [
            "Each member is followed by the paper's row for its LaMini model, for its base model, and by the "
            "per-task difference ours − the paper's LaMini model (percentage points, over the tasks we scored).",
            "",
        ]
    return [*lines, dataframe_markdown(header, rows)]


def published_section(paper_results_15_tasks: pd.DataFrame) -> list[str]:
    """Every published row of the 15-task table, as printed, with its source table."""
    published = paper_results(paper_results_15_tasks)
    lamini = int(published["lamini"].sum())
    header = ["model", "LaMini", "params", *BENCHMARK_ORDER, "avg", "source"]
    rows = [
        [
            entry["model"],
            "yes" if entry["lamini"] else "base",
            entry["params"],
            *(f"{entry[t]:.1f}" for t in BENCHMARK_ORDER),
            f"{entry['average']:.1f}",
            entry["paper_table"],
        ]
        for entry in published.to_dict("records")
    ]
    return [
        f"## The paper's published results ({len(published)} rows: {lamini} LaMini models, "
        f"{len(published) - lamini} base models / baselines)",
        "",
        "Transcribed from EACL 2024 Tables 9–14 (data/01_raw/paper/results_15_tasks.csv, catalog "
        "`paper_results_15_tasks`); zero-shot, %, the paper's metric per task; `avg` is the paper's printed "
        "average of the 15. `params` as printed (the paper prints 135M for GPT-Neo-125M).",
        "",
        dataframe_markdown(header, rows),
    ]


def _hallucination_cell(counts: dict[str, Any], key: str, of: int, notes: Footnotes) -> str:
    status = counts.get("status")
    if status != Status.JUDGED:
        return _missing(str(status), notes)
    hallucinated, judged = counts[f"hallucinated_{key}"], counts[f"judged_{key}"]
    return str(hallucinated) if judged == of else f"{hallucinated} of {judged} judged"


def hallucination_section(
    summaries: list[dict[str, Any]], paper_hallucination_counts: pd.DataFrame, judge_name: str, notes: Footnotes
) -> list[str]:
    """LaMini-Hallucination: our hallucination counts per category beside the paper's Table 5 rows."""
    paper = hallucination_counts_table(paper_hallucination_counts).set_index("model", drop=False)
    keys = [c.replace(" ", "_") for c in HALLUCINATION_CATEGORIES]
    header = ["model", "judged by", *HALLUCINATION_CATEGORIES, "total (of 40)"]

    def paper_row(name: str) -> list[str]:
        entry = paper.loc[name]
        return [f"{name} *(paper, Table 5)*", "humans (the paper)", *(str(entry[k]) for k in keys), str(entry["total"])]

    rows, placed = [], set()
    for summary in summaries:
        counts = summary.get("lamini_hallucination") or {"status": Status.NO_ROWS.value}
        name = _short_name(summary.get("model"), bool(summary.get("tiny")), summary.get("role") == REFERENCE_ROLE)
        judged_by = counts.get("judge") or "–"
        rows.append(
            [name, judged_by, *(_hallucination_cell(counts, k, 10, notes) for k in keys)]
            + [_hallucination_cell(counts, "total", 40, notes)]
        )
        for key in ("reference", "base_reference"):
            reference = summary.get(key)
            if reference in paper.index and reference not in placed:
                rows.append(paper_row(reference))
                placed.add(reference)
    rows += [paper_row(name) for name in paper.index if name not in placed]
    return [
        "## LaMini-Hallucination (EACL §6, Table 5): hallucinated answers per category (of 10; lower is better)",
        "",
        "The paper's 40 questions (Table 17; catalog `lamini_hallucination_questions`), each with a false or "
        "unanswerable premise. Every member answers them (decoder-only members in the Alpaca wrapper). "
        f"Ours are judged by **{judge_name}**, an LLM judge through the teacher (prompt: "
        "`judge.HALLUCINATION_SYSTEM`), which decides per answer HALLUCINATED or REJECTED (refused or corrected "
        "the premise); the paper's counts were judged **by humans**. A verdict that does not parse is "
        "*not judged (unparsable)* and not counted: such a cell reads `n of m judged`.",
        "",
        dataframe_markdown(header, rows),
    ]


def measurements_section(table: pd.DataFrame, notes: Footnotes) -> list[str]:
    """Human evaluation (A-D), AlpacaEval win rate, FalseQA (extra), toxicity and fidelity, per model."""
    header = [
        "model",
        "A %",
        "B %",
        "C %",
        "D %",
        "win rate vs davinci-003 %",
        "FalseQA hallucination % (extra)",
        "FalseQA wrong refusal % (extra)",
        "toxicity (mean)",
        "toxic %",
        "ROUGE-L vs teacher %",
    ]
    rows = []
    for _, row in table[table["kind"].isin([*EVALUATED, RECORDED])].iterrows():
        cells = [_short_name(row["model"], False, row["kind"] == REFERENCE)]
        cells += [_cell(row, f"rating_{g}", row["user_ratings_status"], notes) for g in "ABCD"]
        cells.append(_cell(row, "alpaca_win_rate", row["alpaca_status"], notes))
        cells += [_cell(row, c, row["falseqa_status"], notes) for c in ("hallucination_rate", "wrong_refusal_rate")]
        cells.append(_cell(row, "toxicity_mean", row["toxicity_status"], notes, "{:.3f}"))
        cells.append(_cell(row, "toxic_fraction", row["toxicity_status"], notes))
        cells.append(_cell(row, "fidelity_rougeL", row["fidelity_status"], notes))
        rows.append(cells)
    return [
        "## Human evaluation, instruction following, FalseQA (extra), toxicity, fidelity",
        "",
        dataframe_markdown(header, rows),
    ]


def _loss(value: Any) -> str:
    return f"{value:.3f}" if value is not None and not pd.isna(value) else "–"


def training_section(summaries: list[dict[str, Any]], notes: Footnotes) -> list[str]:
    """What training did to each member: validation loss before and after (from its checkpoint), and ROUGE-L
    of its answers to the teacher's; a reference reads *not trained*."""
    header = [
        "model",
        "starts from",
        "validation loss before",
        "after",
        "change",
        "validation rows",
        "ROUGE-L vs teacher %",
    ]
    rows = []
    for summary in summaries:
        training, fidelity = summary.get("training") or {}, summary.get("fidelity") or {}
        reference = summary.get("role") == REFERENCE_ROLE
        name = _short_name(summary.get("model"), bool(summary.get("tiny")), reference)
        scored = fidelity.get("status") == Status.OK and fidelity.get("rougeL") is not None
        rouge = f"{fidelity['rougeL'] * 100:.1f}" if scored else _missing(fidelity.get("status"), notes)
        rouge += f" ({fidelity['n']})" if scored and fidelity.get("n") is not None else ""
        if training.get("status") == Status.OK:
            before, after = training["validation_loss_before"], training["validation_loss_after"]
            cells = [_loss(before), _loss(after), f"{after - before:+.3f}", str(training.get("validation_rows") or "–")]
        else:
            cells = [_missing(training.get("status"), notes), "", "", ""]
        rows.append([name, str(summary.get("base")), *cells, rouge])
    return [
        "## Training: validation loss before and after, and fidelity to the teacher",
        "",
        "Validation loss (mean token cross-entropy on the held-out rows of `lamini_dataset`) of each trained member "
        "before its first step and after its last, as its checkpoint records it; ROUGE-L F1 of its greedy answers "
        "to the teacher's on the validation rows (`evaluation.fidelity`, rows in brackets). A reference was not "
        "trained: its ROUGE-L is what the untrained model gives.",
        "",
        dataframe_markdown(header, rows),
    ]


def problems_section(summaries: list[dict[str, Any]]) -> list[str]:
    """Every (model, part) that was not measured, with its reason."""
    problems = [
        (s.get("model"), t, r.get("reason"))
        for s in summaries
        for t, r in (s.get("benchmarks") or {}).items()
        if r.get("status") == Status.ERROR
    ]
    problems += [
        (s.get("model"), section, (s.get(section) or {}).get("status"))
        for s in summaries
        for section in SECTIONS
        if (s.get(section) or {}).get("status") not in (Status.OK, Status.JUDGED, NO_LIVE_JUDGE, NOT_TRAINED)
    ]
    problems += [(s.get("model"), "checkpoint", s.get("status")) for s in summaries if s.get("status") != Status.OK]
    if not problems:
        return []
    return [
        "## Not scored, and why (the rest of the herd was evaluated)",
        "",
        *(f"- **{m}** / {t}: {r}" for m, t, r in problems),
    ]


def report_header(teacher: TeacherSettings, judge_name: str, judge_check: dict[str, Any]) -> list[str]:
    """Who and what produced the report: when, from which commit, in which Kedro environment, under which
    MLflow run, with which teacher and which judge (and whether it passed its check)."""
    run_id = provenance.mlflow_run_id()
    check = judge_check.get("verdict") or f"check: {judge_check.get('status')}"
    return [
        f"- Built: {provenance.built_at()}",
        f"- Commit: `{provenance.git_commit()}`",
        f"- Kedro environment: `{provenance.kedro_environment()}`",
        f"- MLflow run: `{run_id}`" if run_id else "- MLflow run: none (no active MLflow run)",
        f"- Teacher: {teacher.model} (backend `{teacher.backend}`)",
        f"- Judge: {judge_name} — {check}",
    ]


def herd_markdown(
    table: pd.DataFrame,
    summaries: list[dict[str, Any]],
    benchmarks: BenchmarkParams,
    user_oriented: UserOrientedParams,
    subset_size: int,
    judge_name: str,
    paper_results_15_tasks: pd.DataFrame,
    paper_hallucination_counts: pd.DataFrame,
    extra_sections: Sequence[Sequence[str]] = (),
    *,
    min_docs: int,
    header: Sequence[str] = (),
    notes: Footnotes | None = None,
) -> str:
    """The report as markdown, with honest labels for tiny students, replayed judges and missing data.

    ``header`` (markdown lines, :func:`report_header`) goes under the title. ``extra_sections`` (each a list
    of markdown lines, e.g. a toxicity table) go after the hallucination section, before the list of what
    was not scored. A cell with no value shows a short word and a footnote mark (``notes``); each reason is
    written once, in the footnotes at the end.
    """
    notes = notes if notes is not None else Footnotes()
    ours = table[table["kind"] == OURS]
    remarks = []
    if ours["note"].fillna("").str.contains("tiny").any():
        remarks.append(
            "Rows marked *tiny* are demo students built from a config and trained for minutes on a "
            "sample: near-chance benchmark scores are expected; they are **not** LaMini-LM's numbers."
        )
    references = table[table["kind"] == REFERENCE]["model"].tolist()
    if references:
        remarks.append(
            f"Reference model(s) {', '.join(f'**{m}**' for m in references)}: evaluated from their checkpoint as "
            "they are, beside the herd, never trained (`reference: true`). Their free-text answers are asked in "
            "the students' instruction wrapper; their benchmark requests are wrapped as `benchmark_wrapper` says."
        )
    remarks.append(
        f"Judge: **{judge_name}** (an LLM judge through the teacher), standing in for the paper's human raters "
        "and judges. Where it gave no answer the cells say *n/j* (footnoted: no live judge) — the replay teacher "
        "holds no recorded judgements; configure a live judge (`conf/paper`, params `teacher`, "
        "`evaluation.judge.teacher_overrides`) to fill them in. No judgement is ever invented."
    )
    shown = min(user_oriented.limit or subset_size, subset_size)
    short = (
        f" — the rule leaves only {subset_size}, fewer than {user_oriented.subset_size}"
        if subset_size < user_oriented.subset_size
        else ""
    )
    remarks.append(
        f"Human evaluation: the paper's rule picks {subset_size} of Self-Instruct's 252 user-oriented instructions "
        f"(at most {user_oriented.max_per_app} per app; no {', '.join(user_oriented.exclude)} items, recognised by "
        f"keyword patterns; seeded){short}; the exact 114 the paper used are unpublished. This run rates the first "
        f"{shown} (A–D, the paper's rubric)."
    )
    remarks.append(
        f"Benchmarks: zero-shot lm-evaluation-harness, first {benchmarks.limit or 'all'} documents per "
        "task; scores in %, with the paper's metric per task (acc or acc_norm; F1 for ReCoRD). "
        "*no data*: the benchmark has no copy in this environment and is not scored. TruthfulQA is an extra, "
        "not one of the paper's 15 tasks."
    )
    lines = ["# LaMini-LM herd report", "", *header, "", *(f"- {n}" for n in remarks), ""]
    sections = [
        benchmark_section(table, summaries, notes, min_docs),
        published_section(paper_results_15_tasks),
        measurements_section(table, notes),
        training_section(summaries, notes),
        hallucination_section(summaries, paper_hallucination_counts, judge_name, notes),
        *extra_sections,
        problems_section(summaries),
        notes.lines(),
    ]
    for section in sections:
        if section:
            lines += [*section, ""]
    return "\n".join(lines).rstrip("\n") + "\n"


def judge_label(judge: JudgeParams, teacher: TeacherSettings) -> str:
    """The judge as the report names it: the configured model, and whether the replay teacher serves it."""
    settings = judge_settings(teacher, judge)
    return f"{settings.model} (replay teacher: no live judge)" if settings.replay.serve else settings.model


def build_herd_report(
    paper_results_15_tasks: pd.DataFrame,
    paper_hallucination_counts: pd.DataFrame,
    human_eval_subset: pd.DataFrame,
    references: dict[str, Any],
    benchmarks: BenchmarkParams,
    user_oriented: UserOrientedParams,
    judge: JudgeParams,
    teacher: TeacherSettings,
    report: ReportParams,
    toxicity_section: str,
    judge_check: dict[str, Any],
    *summaries: dict[str, Any],
) -> tuple[pd.DataFrame, str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Table, markdown, figures (for the plots folder and, in memory, for MLflow) and every summary.

    The markdown's header names when, from which commit, in which Kedro environment and MLflow run, with
    which teacher and judge the report was built (:mod:`provenance`); ``report.min_docs`` marks a benchmark
    cell scored on fewer documents as indicative.

    ``toxicity_section`` is the toxicity table's markdown (``herd_toxicity_table_markdown``), shown after
    the hallucination section. ``judge_check`` is the judge's check (``eval_judge_check_summary``): a judge
    that failed it has its ratings withheld from every judged column, the verdict shown instead."""
    summaries_list = withhold_failed_judgements(list(summaries), judge_check)
    references = dict(zip(references, withhold_failed_judgements(list(references.values()), judge_check)))
    table = herd_table(summaries_list, references, paper_results_15_tasks)
    figures = herd_figures(table)
    judge_name = judge_label(judge, teacher)
    markdown = herd_markdown(
        table,
        summaries_list,
        benchmarks,
        user_oriented,
        len(human_eval_subset),
        judge_name,
        paper_results_15_tasks,
        paper_hallucination_counts,
        extra_sections=[
            judge_check_section(judge_check, judge_name),
            *([toxicity_section.strip().splitlines()] if toxicity_section.strip() else []),
        ],
        min_docs=report.min_docs,
        header=report_header(teacher, judge_name, judge_check),
    )
    by_model = {str(s.get("model")): s for s in summaries_list}
    return table, markdown, figures, figures, by_model
