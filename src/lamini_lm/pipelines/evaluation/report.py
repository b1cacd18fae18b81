"""The herd report: the model x metric table (parquet + markdown) with every published number of the
paper as a reference row, ours beside the paper's, the LaMini-Hallucination counts beside Table 5,
and the plots a person would rather look at."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.benchmarks import extra_tasks
from lamini_lm.pipelines.evaluation.figures import herd_figures
from lamini_lm.pipelines.evaluation.herd_table import (
    DIFFERENCE,
    EVALUATED,
    EXTRA_BENCHMARKS,
    OURS,
    PAPER,
    RECORDED,
    REFERENCE,
    herd_table,
    n_column,
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
from lamini_lm.pipelines.evaluation.params import BenchmarkParams, JudgeParams, UserOrientedParams
from lamini_lm.pipelines.evaluation.summary import NOT_TRAINED, SECTIONS
from lamini_lm.pipelines.evaluation.summary import REFERENCE as REFERENCE_ROLE
from lamini_lm.reporting import markdown_table
from lamini_lm.teacher.config import TeacherSettings


def _cell(row: pd.Series, column: str, status: str | None, fmt: str = "{:.1f}") -> str:
    value = row.get(column)
    if value is not None and not pd.isna(value):
        return fmt.format(value)
    if isinstance(status, str) and status not in MEASURED:
        return status if status == NO_LIVE_JUDGE else status.split(" (")[0]
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


def _with_uncertainty(cell: str, row: pd.Series, task: str) -> str:
    """``score ± stderr (n)``: a scored cell with its standard error and how many documents were scored."""
    stderr, n = row.get(stderr_column(task)), row.get(n_column(task))
    if pd.isna(row.get(task)):
        return cell
    spread = f" ± {stderr:.1f}" if stderr is not None and not pd.isna(stderr) else ""
    count = f" ({int(n)})" if n is not None and not pd.isna(n) else ""
    return f"{cell}{spread}{count}"


def _benchmark_cells(
    row: pd.Series, statuses: dict[str, Any], tasks: Sequence[str] = BENCHMARK_ORDER, average: bool = True
) -> list[str]:
    """One cell per task of ``tasks``, then (``average``) the average; a reference's task cells read
    ``score ± stderr (n)``."""
    fmt = "{:+.1f}" if row["kind"] == DIFFERENCE else "{:.1f}"
    cells = []
    for task in tasks:
        cell = _cell(row, task, (statuses.get(task) or {}).get("status"), fmt)
        cells.append(_with_uncertainty(cell, row, task) if row["kind"] == REFERENCE else cell)
    if average:
        cells.append(_cell(row, "benchmark_average", None, fmt))
        if row["kind"] in (*EVALUATED, DIFFERENCE):
            cells[-1] += f" ({row['benchmarks_scored']})"
    return cells


def benchmark_section(table: pd.DataFrame, summaries: list[dict[str, Any]]) -> list[str]:
    """Ours, each member followed by the paper's LaMini row, its base model's row and ours − LaMini row; a
    reference member's cells read ``score ± stderr (n)``."""
    bench_status = {s.get("model"): s.get("benchmarks") or {} for s in summaries}
    by_name = {row["model"]: row for _, row in table[table["kind"] == PAPER].iterrows()}
    differences = {row["member"]: row for _, row in table[table["kind"] == DIFFERENCE].iterrows()}
    header = ["model", "params", *BENCHMARK_ORDER, "avg", *(f"{name} (extra)" for _, name in extra_tasks())]
    rows = []
    for _, row in table[table["kind"].isin(EVALUATED)].iterrows():
        statuses = bench_status.get(row["model"], {})
        extras = _benchmark_cells(row, statuses, EXTRA_BENCHMARKS, average=False)
        rows.append([_name(row), _params(row["num_parameters"]), *_benchmark_cells(row, statuses), *extras])
        for key in ("paper_reference", "paper_base_reference"):
            if not pd.isna(row[key]):
                paper = by_name[row[key]]
                rows.append(
                    ["↳ " + _name(paper), _params(paper["num_parameters"]), *_benchmark_cells(paper, {}), "", ""]
                )
        if row["member"] in differences:
            rows.append(
                ["↳ " + _name(differences[row["member"]]), "", *_benchmark_cells(differences[row["member"]], {})]
            )
            rows[-1] += ["", ""]
    lines = ["## NLP benchmarks (zero-shot, %): ours beside the paper's", ""]
    if (table["kind"] == REFERENCE).any():
        lines += [
            "Rows marked *reference* are models evaluated from their checkpoint as they are, not trained "
            "(`reference: true` under `models:`); each of their cells reads score ± standard error (documents "
            "scored), in percentage points, as lm-eval reports them.",
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
    return [*lines, markdown_table(header, rows)]


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
        markdown_table(header, rows),
    ]


def _hallucination_cell(counts: dict[str, Any], key: str, of: int) -> str:
    status = counts.get("status")
    if status != Status.JUDGED:
        return str(status) if status == NO_LIVE_JUDGE else str(status).split(" (")[0]
    hallucinated, judged = counts[f"hallucinated_{key}"], counts[f"judged_{key}"]
    return str(hallucinated) if judged == of else f"{hallucinated} of {judged} judged"


def hallucination_section(
    summaries: list[dict[str, Any]], paper_hallucination_counts: pd.DataFrame, judge_name: str
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
            [name, judged_by, *(_hallucination_cell(counts, k, 10) for k in keys)]
            + [_hallucination_cell(counts, "total", 40)]
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
        markdown_table(header, rows),
    ]


def measurements_section(table: pd.DataFrame) -> list[str]:
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
        cells += [_cell(row, f"rating_{g}", row["user_ratings_status"]) for g in "ABCD"]
        cells.append(_cell(row, "alpaca_win_rate", row["alpaca_status"]))
        cells += [_cell(row, c, row["falseqa_status"]) for c in ("hallucination_rate", "wrong_refusal_rate")]
        cells.append(_cell(row, "toxicity_mean", row["toxicity_status"], "{:.3f}"))
        cells.append(_cell(row, "toxic_fraction", row["toxicity_status"]))
        cells.append(_cell(row, "fidelity_rougeL", row["fidelity_status"]))
        rows.append(cells)
    return [
        "## Human evaluation, instruction following, FalseQA (extra), toxicity, fidelity",
        "",
        markdown_table(header, rows),
    ]


def _loss(value: Any) -> str:
    return f"{value:.3f}" if value is not None and not pd.isna(value) else "–"


def training_section(summaries: list[dict[str, Any]]) -> list[str]:
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
        rouge = f"{fidelity['rougeL'] * 100:.1f}" if scored else str(fidelity.get("status") or "–").split(" (")[0]
        rouge += f" ({fidelity['n']})" if scored and fidelity.get("n") is not None else ""
        if training.get("status") == Status.OK:
            before, after = training["validation_loss_before"], training["validation_loss_after"]
            cells = [_loss(before), _loss(after), f"{after - before:+.3f}", str(training.get("validation_rows") or "–")]
        else:
            cells = [str(training.get("status") or "–"), "", "", ""]
        rows.append([name, str(summary.get("base")), *cells, rouge])
    return [
        "## Training: validation loss before and after, and fidelity to the teacher",
        "",
        "Validation loss (mean token cross-entropy on the held-out rows of `lamini_dataset`) of each trained member "
        "before its first step and after its last, as its checkpoint records it; ROUGE-L F1 of its greedy answers "
        "to the teacher's on the validation rows (`evaluation.fidelity`, rows in brackets). A reference was not "
        "trained: its ROUGE-L is what the untrained model gives.",
        "",
        markdown_table(header, rows),
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
) -> str:
    """The report as markdown, with honest labels for tiny students, replayed judges and missing data.

    ``extra_sections`` (each a list of markdown lines, e.g. a toxicity table) go after the hallucination
    section, before the list of what was not scored.
    """
    ours = table[table["kind"] == OURS]
    notes = []
    if ours["note"].fillna("").str.contains("tiny").any():
        notes.append(
            "Rows marked *tiny* are demo students built from a config and trained for minutes on a "
            "sample: near-chance benchmark scores are expected; they are **not** LaMini-LM's numbers."
        )
    references = table[table["kind"] == REFERENCE]["model"].tolist()
    if references:
        notes.append(
            f"Reference model(s) {', '.join(f'**{m}**' for m in references)}: evaluated from their checkpoint as "
            "they are, beside the herd, never trained (`reference: true`). Their free-text answers are asked in "
            "the students' instruction wrapper; their benchmark requests are wrapped as `benchmark_wrapper` says."
        )
    notes.append(
        f"Judge: **{judge_name}** (an LLM judge through the teacher), standing in for the paper's human raters "
        "and judges. Where it gave no answer the cells say *not judged (no live judge)* — the replay teacher "
        "holds no recorded judgements; configure a live judge (`conf/paper`, params `teacher`, "
        "`evaluation.judge.teacher_overrides`) to fill them in. No judgement is ever invented."
    )
    shown = min(user_oriented.limit or subset_size, subset_size)
    short = (
        f" — the rule leaves only {subset_size}, fewer than {user_oriented.subset_size}"
        if subset_size < user_oriented.subset_size
        else ""
    )
    notes.append(
        f"Human evaluation: the paper's rule picks {subset_size} of Self-Instruct's 252 user-oriented instructions "
        f"(at most {user_oriented.max_per_app} per app; no {', '.join(user_oriented.exclude)} items, recognised by "
        f"keyword patterns; seeded){short}; the exact 114 the paper used are unpublished. This run rates the first "
        f"{shown} (A–D, the paper's rubric)."
    )
    notes.append(
        f"Benchmarks: zero-shot lm-evaluation-harness, first {benchmarks.limit or 'all'} documents per "
        "task; scores in %, with the paper's metric per task (acc or acc_norm; F1 for ReCoRD). "
        "*no data*: the benchmark has no copy in this environment and is not scored. TruthfulQA is an extra, "
        "not one of the paper's 15 tasks."
    )
    lines = ["# LaMini-LM herd report", "", *(f"- {n}" for n in notes), ""]
    sections = [
        benchmark_section(table, summaries),
        published_section(paper_results_15_tasks),
        measurements_section(table),
        training_section(summaries),
        hallucination_section(summaries, paper_hallucination_counts, judge_name),
        *extra_sections,
        problems_section(summaries),
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
    toxicity_section: str,
    judge_check: dict[str, Any],
    *summaries: dict[str, Any],
) -> tuple[pd.DataFrame, str, dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Table, markdown, figures (for the plots folder and, in memory, for MLflow) and every summary.

    ``toxicity_section`` is the toxicity table's markdown (``herd_toxicity_table_markdown``), shown after
    the hallucination section. ``judge_check`` is the judge's check (``eval_judge_check_summary``): a judge
    that failed it has its ratings withheld from every judged column, the verdict shown instead."""
    summaries_list = withhold_failed_judgements(list(summaries), judge_check)
    references = dict(zip(references, withhold_failed_judgements(list(references.values()), judge_check)))
    table = herd_table(summaries_list, references, paper_results_15_tasks)
    figures = herd_figures(table)
    markdown = herd_markdown(
        table,
        summaries_list,
        benchmarks,
        user_oriented,
        len(human_eval_subset),
        judge_label(judge, teacher),
        paper_results_15_tasks,
        paper_hallucination_counts,
        extra_sections=[
            judge_check_section(judge_check, judge_label(judge, teacher)),
            *([toxicity_section.strip().splitlines()] if toxicity_section.strip() else []),
        ],
    )
    by_model = {str(s.get("model")): s for s in summaries_list}
    return table, markdown, figures, figures, by_model
