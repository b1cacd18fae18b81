"""Every published number of the paper as a reference row: the 15-task table from the catalog, checked
against itself, reported beside ours (table, markdown, plot), and named references checked."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest
import yaml
from conf_params import conf_block
from kedro.io import DataCatalog

from lamini_lm.herd import ModelSpec
from lamini_lm.parameters import load_parameters
from lamini_lm.pipelines.evaluation import summary
from lamini_lm.pipelines.evaluation.figures import herd_figures
from lamini_lm.pipelines.evaluation.footnotes import Footnotes
from lamini_lm.pipelines.evaluation.herd_table import DIFFERENCE, OURS, PAPER, herd_table
from lamini_lm.pipelines.evaluation.paper_tables import (
    BENCHMARK_ORDER,
    check_references,
    paper_results,
    parse_params,
    spec_references,
)
from lamini_lm.pipelines.evaluation.report import benchmark_section, published_section

# The printed average is the mean of the unrounded scores, rounded to 0.1 (±0.05); each printed score
# is rounded too (±0.05 each, so ±0.05 on their mean). |mean of the printed 15 − printed average| ≤ 0.1;
# the largest in the table is 0.053 (Flan-T5-base). A mistyped cell off by 1.5 or more fails.
AVERAGE_TOLERANCE = 0.1


def _squash(markdown: str) -> str:
    """``markdown`` with the padding ``DataFrame.to_markdown`` puts around each cell taken out."""
    return re.sub(r" +\|", " |", re.sub(r"\| +", "| ", markdown))


@pytest.fixture(scope="module")
def published(project_root) -> pd.DataFrame:
    """``paper_results_15_tasks`` loaded the way `kedro run` loads it: conf/base's catalog entry."""
    entries = yaml.safe_load((project_root / "conf/base/catalog_evaluation.yml").read_text())
    entry = dict(entries["paper_results_15_tasks"])
    assert entry["type"] == "pandas.CSVDataset"
    entry["filepath"] = str(project_root / entry["filepath"])
    return DataCatalog.from_config({"paper_results_15_tasks": entry}).load("paper_results_15_tasks")


def test_the_catalog_holds_all_35_published_rows_with_their_source(published):
    table = paper_results(published)
    assert len(table) == 35 and table["model"].is_unique
    assert table["lamini"].sum() == 17 and (~table["lamini"]).sum() == 18
    assert set(table["paper_table"]) == {f"EACL 2024 Table {n}" for n in range(9, 15)}
    assert {"LaMini-T5-61M", "LaMini-Neo-125M", "LaMini-GPT-J-6B", "LaMini-LLaMA-7B", "Alpaca-7B"} <= set(
        table["model"]
    )
    assert table[BENCHMARK_ORDER].notna().all().all() and table[BENCHMARK_ORDER].stack().between(0, 100).all()


def test_every_row_average_matches_its_15_values(published):
    table = paper_results(published)
    for _, row in table.iterrows():
        mean = sum(row[t] for t in BENCHMARK_ORDER) / len(BENCHMARK_ORDER)
        assert mean == pytest.approx(row["average"], abs=AVERAGE_TOLERANCE), row["model"]


def test_a_mistyped_cell_is_caught(published):
    typo = published.copy()
    typo.loc[typo["model"] == "LaMini-GPT-124M", "sst2"] = 8.45  # 84.5 with the point moved
    row = paper_results(typo).set_index("model").loc["LaMini-GPT-124M"]
    assert abs(sum(row[t] for t in BENCHMARK_ORDER) / 15 - row["average"]) > AVERAGE_TOLERANCE
    with pytest.raises(ValueError, match=r"row 3 \(LaMini-T5-223M\): sciq='n/a'"):
        paper_results(published.astype({"sciq": object}).assign(sciq=lambda f: f["sciq"].where(f.index != 3, "n/a")))
    with pytest.raises(ValueError, match=r"missing column\(s\) \['average'\]"):
        paper_results(published.drop(columns=["average"]))


@pytest.mark.parametrize("text, value", [("61M", 61e6), ("1.3B", 1.3e9), ("7B", 7e9), ("135M", 135e6), (" 6b ", 6e9)])
def test_parse_params(text, value):
    assert parse_params(text) == pytest.approx(value)


def test_parse_params_refuses_other_text():
    with pytest.raises(ValueError, match=r"'1.3' is not a number followed by K, M or B"):
        parse_params("1.3")


def test_no_hand_typed_block_remains():
    for env in ("base", "paper"):
        assert "paper_reference" not in load_parameters(env)["evaluation"]


def test_all_35_rows_are_in_the_table_the_published_section_and_the_plot(published):
    table = herd_table([], {}, published)
    paper = table[table["kind"] == PAPER].set_index("model")
    assert len(paper) == 35
    flan = paper.loc["LaMini-Flan-T5-783M"]
    assert flan["hellaswag"] == 43.7 and flan["benchmark_average"] == 60.8 and flan["num_parameters"] == 783e6
    assert flan["paper_table"] == "EACL 2024 Table 10" and flan["benchmarks_scored"] == "15/15"
    section = _squash("\n".join(published_section(published)))
    assert "35 rows: 17 LaMini models, 18 base models / baselines" in section
    assert "| GPT-Neo-125M | base | 135M | 26.2 |" in section and section.count("| EACL 2024 Table") == 35
    ours = {
        "model": "tiny_t5",
        "member": "tiny_t5",
        "family": "seq2seq",
        "num_parameters": 2e5,
        "status": "ok",
        "benchmark_average": 0.4,
    }
    ax = herd_figures(herd_table([ours], {}, published))["benchmark_average_vs_parameters.png"].axes[0]
    labels = {t.get_text() for t in ax.texts}
    assert set(paper.index) | {"tiny_t5 (0/0 tasks)"} <= labels  # ours: how many tasks its average is over
    points = sum(len(c.get_offsets()) for c in ax.collections) + sum(len(line.get_xdata()) for line in ax.lines)
    assert points == 35 + 1


def _ours(member: str, reference: str | None, base: str | None, hellaswag: float | None) -> dict:
    bench = {"hellaswag": {"status": "ok", "value": hellaswag}} if hellaswag is not None else {}
    bench["sciq"] = {"status": "no data", "value": None}
    return {
        "model": member,
        "member": member,
        "family": "seq2seq",
        "num_parameters": 783_150_080,
        "status": "ok",
        "reference": reference,
        "base_reference": base,
        "benchmarks": bench,
        "benchmark_average": hellaswag,
        "benchmarks_scored": int(hellaswag is not None),
        "benchmarks_total": 15,
    }


def test_a_member_is_followed_by_its_lamini_row_its_base_row_and_the_differences(published):
    flan = _ours("lamini_flan_t5_783m", "LaMini-Flan-T5-783M", "Flan-T5-large", 0.40)
    neo = _ours("lamini_neo_125m", None, None, 0.30)
    table = herd_table([flan, neo], {}, published)
    assert table["model"].tolist()[:5] == [
        "lamini_flan_t5_783m",
        "LaMini-Flan-T5-783M",
        "Flan-T5-large",
        "lamini_flan_t5_783m − LaMini-Flan-T5-783M",
        "lamini_neo_125m",
    ]
    assert table["kind"].tolist()[:5] == [OURS, PAPER, PAPER, DIFFERENCE, OURS]
    assert (table["kind"] == PAPER).sum() == 35 and table["model"].tolist().count("Flan-T5-large") == 1
    delta = table.iloc[3]
    assert delta["hellaswag"] == pytest.approx(40.0 - 43.7) and math.isnan(delta["sciq"])
    assert delta["benchmark_average"] == pytest.approx(40.0 - 43.7) and delta["benchmarks_scored"] == "1/15"
    markdown = _squash("\n".join(benchmark_section(table, [flan, neo], Footnotes(), 100)))
    assert "| ↳ LaMini-Flan-T5-783M *(paper, Table 10)* | 783M | 34.0 |" in markdown
    assert "| ↳ Flan-T5-large *(paper, Table 10)* | 783M | 31.2 |" in markdown
    assert "| ↳ Δ ours − LaMini-Flan-T5-783M | | – | – |" in markdown and "| -3.7 | —² | -3.7 (1 shared) |" in markdown
    # Our average of 1 task is not set beside the paper's 15: each paper row is re-averaged over that task.
    assert "| 40.0 ± ? (n ?)† | —² | 40.0 (1 task) |" in markdown and "| 43.7 | 60.8 | 43.7 (1 shared) |" in markdown


def test_the_demo_says_no_member_names_a_paper_row(published):
    table = herd_table([_ours("tiny_t5", None, None, 0.5)], {}, published)
    assert "No herd member names a paper row" in "\n".join(benchmark_section(table, [], Footnotes(), 100))


def test_an_unknown_reference_is_an_error_naming_the_member_and_the_key(published, causal_student):
    spec = ModelSpec.model_validate(conf_block("models.tiny_gpt2", paper_base_reference="GPT2-XL"))
    with pytest.raises(
        ValueError,
        match=r"Herd member 'tiny_gpt2': paper_base_reference 'GPT2-XL' \(key 'models.tiny_gpt2.paper_base_reference'\) "
        r"is not a `model` of data/01_raw/paper/results_15_tasks.csv; did you mean 'GPT-2-XL'\?",
    ):
        summary.describe_student(causal_student, spec, published, member="tiny_gpt2")
    with pytest.raises(ValueError, match=r"Herd member 'm': paper_reference 'LaMini-X'"):
        herd_table([_ours("m", "LaMini-X", None, 0.1)], {}, published)


@pytest.mark.parametrize("env", ["base", "paper"])
def test_every_reference_named_in_conf_is_a_published_row(env, published):
    parameters = load_parameters(env)
    table = paper_results(published)
    for member in parameters["herd"]:
        names = spec_references(ModelSpec.model_validate(parameters["models"][member]))
        assert check_references(member, names, table) == names
        if env == "base":
            assert names == {"paper_reference": None, "paper_base_reference": None}, member  # tiny: no rows
