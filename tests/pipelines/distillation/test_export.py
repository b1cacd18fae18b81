import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.datasets.hf_export import HFDatasetExport
from lamini_lm.pipelines.distillation.export import build_dataset_card, export_hf_dataset
from lamini_lm.pipelines.distillation.params import ExportParams

SETTINGS = ExportParams.model_validate(
    conf_block(
        "distillation.export",
        pretty_name="Tiny LaMini",
        licence="cc-by-nc-4.0",
        licence_notes="CC BY-NC 4.0.",
        date="2026-01-02",
    )
)


def _dataset():
    return pd.DataFrame(
        {
            "instruction": ["a", "b", "c", "d"],
            "response": ["w", "x", "y", "z"],
            "instruction_source": ["alpaca", "alpaca", "lamini_sample", "self_instruct_with_topic"],
            "teacher_model": ["text-davinci-003", "text-davinci-003", "gpt-3.5-turbo", "replay:gpt-3.5-turbo"],
            "prompt_tokens": pd.array([None, None, None, 12], dtype="Int64"),
            "completion_tokens": pd.array([None, None, None, 5], dtype="Int64"),
            "cost_usd": pd.array([None, None, None, 0.25], dtype="Float64"),
            "request_id": [None, None, None, "r1"],
            "split": ["train", "validation", "train", "train"],
        }
    )


def test_card_counts_sources_teachers_date_and_licence():
    card = build_dataset_card(_dataset(), SETTINGS, "2026-01-02")
    assert card.startswith("---\nlicense: cc-by-nc-4.0\n")
    assert "| alpaca | 1 | 1 | 50.0% | text-davinci-003 |" in card
    assert "| self_instruct_with_topic | 1 | 0 | 25.0% | replay:gpt-3.5-turbo |" in card
    assert "Created: 2026-01-02" in card and "$0.2500" in card and "CC BY-NC 4.0." in card


def test_export_round_trip(tmp_path):
    exported = export_hf_dataset(_dataset(), SETTINGS)
    target = tmp_path / "hf_export"
    dataset = HFDatasetExport(path=str(target))
    dataset.save(exported)
    dataset.save(exported)  # a second save replaces the first
    loaded = dataset.load()
    assert {k: len(v) for k, v in loaded.items()} == {"train": 3, "validation": 1}
    assert loaded["train"][2]["request_id"] == "r1" and loaded["train"][0]["prompt_tokens"] is None
    assert sorted(p.name for p in (target / "data").iterdir()) == ["train.parquet", "validation.parquet"]
    assert len(pd.read_parquet(target / "data" / "train.parquet")) == 3
    assert "Tiny LaMini" in (target / "README.md").read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["hf_export"]


def test_export_refuses_empty_dataset():
    with pytest.raises(ValueError, match="empty"):
        export_hf_dataset(_dataset().iloc[:0], SETTINGS)
