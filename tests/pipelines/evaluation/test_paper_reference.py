"""The paper's published numbers (``evaluation.paper_reference``): complete, consistent, reported."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.evaluation.figures import herd_figures
from lamini_lm.pipelines.evaluation.herd_table import BENCHMARK_ORDER, herd_table
from lamini_lm.pipelines.evaluation.params import BenchmarkParams, PaperReference
from lamini_lm.pipelines.evaluation.report import herd_markdown


@pytest.fixture(scope="module")
def paper_reference() -> PaperReference:
    return PaperReference.model_validate(conf_block("evaluation.paper_reference"))


def test_every_row_has_the_15_tasks_and_its_printed_average(paper_reference):
    models = paper_reference.models
    assert {"LaMini-T5-738M", "LaMini-Flan-T5-783M", "LaMini-Cerebras-1.3B", "LaMini-GPT-1.5B"} <= set(models)
    for name, entry in models.items():
        values = entry.benchmarks
        assert set(values) == set(BENCHMARK_ORDER), name
        assert all(0 <= v <= 100 for v in values.values()), name
        # A typo in any cell moves the mean away from the paper's own Average column.
        assert sum(values.values()) / 15 == pytest.approx(entry.average, abs=0.051), name


def test_paper_rows_sit_beside_ours_in_table_markdown_and_plot(paper_reference):
    table = herd_table([], {}, paper_reference)
    flan = table.set_index("model").loc["LaMini-Flan-T5-783M"]
    assert flan["kind"] == "paper (published)" and flan["hellaswag"] == 43.7 and flan["benchmark_average"] == 60.8
    assert flan["benchmarks_scored"] == "15/15"
    markdown = herd_markdown(table, [], BenchmarkParams.model_validate(conf_block("evaluation.benchmarks", limit=20)))
    assert "LaMini-GPT-1.5B *(paper)*" in markdown and "63.0" in markdown
    figures = herd_figures(table)
    ax = figures["benchmark_average_vs_parameters.png"].axes[0]
    labels = {t.get_text() for t in ax.texts}
    assert {"LaMini-Flan-T5-783M", "GPT-2-XL", "Alpaca-7B"} <= labels
    assert pd.Series([len(c.get_offsets()) for c in ax.collections]).sum() == len(paper_reference.models)


def test_a_member_naming_a_paper_row_is_followed_by_it(paper_reference):
    ours = {
        "model": "lamini_flan_t5_783m",
        "family": "seq2seq",
        "num_parameters": 783_150_080,
        "status": "ok",
        "reference": "LaMini-Flan-T5-783M",
        "benchmarks": {"hellaswag": {"status": "ok", "value": 0.437}},
        "benchmark_average": 0.437,
        "benchmarks_scored": 1,
        "benchmarks_total": 15,
    }
    other = {**ours, "model": "lamini_neo_125m", "family": "causal", "reference": None}
    table = herd_table([ours, other], {}, paper_reference)
    models = table["model"].tolist()
    assert models[:3] == ["lamini_flan_t5_783m", "LaMini-Flan-T5-783M", "lamini_neo_125m"]
    assert models.count("LaMini-Flan-T5-783M") == 1 and len(models) == 2 + len(paper_reference.models)
    assert table.loc[0, "paper_reference"] == "LaMini-Flan-T5-783M"
    assert table.loc[0, "hellaswag"] == pytest.approx(table.loc[1, "hellaswag"])
