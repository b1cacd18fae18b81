"""The summary's Provenance section: rows per teacher_model value, what each kind means, and the notes on
numbers that come from the run's design — each present when its cause is, absent otherwise."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.distillation import analysis
from lamini_lm.pipelines.distillation.params import AnalysisParams
from lamini_lm.pipelines.distillation.provenance import TEACHER_KINDS, teacher_model_counts

SETTINGS = AnalysisParams.model_validate(conf_block("distillation.analysis"))
PRICED = {
    "requests": 2,
    "cached": 0,
    "projected_cost_usd": 0.01,
    "price_input_per_million": 0.5,
    "price_output_per_million": 1.5,
}
FREE = {**PRICED, "projected_cost_usd": 0.0, "price_input_per_million": 0.0, "price_output_per_million": 0.0}
CLEAN = {"requests": 2, "kept": 2, "dropped": 0, "dropped_by_reason": {}, "flagged_by_reason": {}}


def _rows(*specs: tuple[str, str, str | None, int]) -> pd.DataFrame:
    """``(instruction_source, teacher_model, request_id prefix or None, count)`` → lamini_dataset rows."""
    rows = []
    for source, teacher, request, count in specs:
        for i in range(count):
            rows.append(
                {
                    "instruction": f"{source} {teacher} {i}",
                    "response": "an answer",
                    "instruction_source": source,
                    "teacher_model": teacher,
                    "request_id": None if request is None else f"{request}{i}",
                    "split": "train",
                }
            )
    return pd.DataFrame(rows)


def _summary(dataset: pd.DataFrame, cleaning: dict = CLEAN, projection: dict = PRICED) -> str:
    counts = analysis.source_counts(dataset)
    empty = pd.DataFrame({"instruction_source": []})
    return analysis.write_summary(dataset, counts, empty, empty, empty, cleaning, projection, SETTINGS)


def _provenance_table(summary: str) -> dict[str, list[str]]:
    """The Provenance table as ``{teacher_model: [kind, rows, share]}``."""
    section = summary.split("## Provenance")[1].split("\n## ", maxsplit=1)[0]
    table = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| `"):
            table[cells[0].strip("`")] = cells[1:]
    return table


def _notes(summary: str) -> str:
    section = summary.split("## Provenance")[1].split("\n## ", maxsplit=1)[0]
    return section.split("**Numbers that come from the run's design**")[1] if "run's design" in section else ""


def test_each_teacher_model_value_is_counted_and_its_kind_explained():
    dataset = _rows(
        ("lamini_sample", "gpt-3.5-turbo-0301", None, 6),
        ("alpaca", "replay:text-davinci-003", "r", 2),
        ("alpaca", "local:SmolLM2-135M-Instruct", "l", 1),
        ("alpaca", "gpt-4o-mini", "a", 1),
    )
    summary = _summary(dataset)
    assert _provenance_table(summary) == {
        "gpt-3.5-turbo-0301": ["imported", "6", "60.0%"],
        "gpt-4o-mini": ["api", "1", "10.0%"],
        "local:SmolLM2-135M-Instruct": ["local", "1", "10.0%"],
        "replay:text-davinci-003": ["replay", "2", "20.0%"],
    }
    for kind, meaning in TEACHER_KINDS.items():  # the card's wording, once per kind present
        assert summary.count(f"- **{kind}**: {meaning}") == 1


def test_the_summary_and_the_card_share_one_explanation():
    dataset = _rows(("alpaca", "text-davinci-003", None, 2), ("alpaca", "replay:human-seed", "r", 1))
    counts = teacher_model_counts(dataset)
    assert counts[["teacher_model", "kind", "rows"]].values.tolist() == [
        ["replay:human-seed", "replay", 1],
        ["text-davinci-003", "imported", 2],
    ]
    summary = _summary(dataset)
    assert "- **api**" not in summary and "- **local**" not in summary  # only kinds that occur
    assert f"- **replay**: {TEACHER_KINDS['replay']}" in summary


def test_an_api_model_of_the_same_name_as_an_import_is_two_rows():
    """A value is imported or asked per row (request_id), not per name."""
    dataset = _rows(("alpaca", "gpt-3.5-turbo", None, 3), ("self_instruct_with_topic", "gpt-3.5-turbo", "a", 1))
    summary = re.sub(" +", " ", _summary(dataset))  # DataFrame.to_markdown pads the cells
    assert "| `gpt-3.5-turbo` | api | 1 | 25.0% |" in summary
    assert "| `gpt-3.5-turbo` | imported | 3 | 75.0% |" in summary
    assert teacher_model_counts(dataset)[["kind", "rows"]].values.tolist() == [["api", 1], ["imported", 3]]


def test_design_notes_appear_only_when_their_cause_holds():
    api_only = _summary(_rows(("alpaca", "gpt-4o-mini", "a", 4)))
    assert "run's design" not in api_only  # a priced live run: nothing to explain away

    imported = _notes(_summary(_rows(("lamini_sample", "gpt-3.5-turbo-0301", None, 3), ("alpaca", "gpt-4o", "a", 1))))
    assert "**Imported rows**: 3 of 4 rows (75.0%: lamini_sample 3)" in imported
    assert "Replay answers" not in imported and "Local model" not in imported and "Cost $0" not in imported

    replayed = _notes(_summary(_rows(("alpaca", "replay:text-davinci-003", "r", 2), ("alpaca", "gpt-4o", "a", 2))))
    assert "**Replay answers** (`replay:`): 2 of 4 rows (50.0%: alpaca 2)" in replayed
    assert "no model was asked" in replayed and "Imported rows" not in replayed

    local = _notes(_summary(_rows(("alpaca", "local:tiny", "l", 1), ("alpaca", "gpt-4o", "a", 1))))
    assert "**Local model answers** (`local:tiny`): 1 of 2 rows (50.0%: alpaca 1)" in local


@pytest.mark.parametrize(
    ("dropped_by_reason", "flagged", "expected"),
    [({"truncated": 3, "refusal": 1}, {}, True), ({"refusal": 1}, {}, False), ({}, {"truncated": 3}, False)],
)
def test_the_truncation_note_follows_the_cleaning_report(dropped_by_reason, flagged, expected):
    cleaning = {**CLEAN, "requests": 10, "dropped_by_reason": dropped_by_reason, "flagged_by_reason": flagged}
    notes = _notes(_summary(_rows(("alpaca", "gpt-4o", "a", 2)), cleaning=cleaning))
    assert ("**Truncated answers**: 3 of 10 requests" in notes) is expected


def test_the_zero_cost_note_follows_the_configured_prices():
    dataset = _rows(("alpaca", "replay:text-davinci-003", "r", 2))
    assert "**Cost $0**" in _notes(_summary(dataset, projection=FREE))
    assert "Cost $0" not in _notes(_summary(dataset, projection=PRICED))
    half = {**FREE, "price_output_per_million": 2.0}
    assert "Cost $0" not in _notes(_summary(dataset, projection=half))


def test_a_null_teacher_model_is_named():
    dataset = _rows(("alpaca", "gpt-4o", "a", 1))
    dataset.loc[0, "teacher_model"] = None
    assert _provenance_table(_summary(dataset)) == {"(none)": ["api", "1", "100.0%"]}
