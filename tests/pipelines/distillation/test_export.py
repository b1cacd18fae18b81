import pandas as pd
import pytest
from conf_params import conf_block
from huggingface_hub import DatasetCard
from markdown_tables import read_table

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
    assert isinstance(card, DatasetCard)
    text = str(card)
    assert text.startswith("---\nlicense: cc-by-nc-4.0\n")
    assert card.data.pretty_name == "Tiny LaMini" and card.data.size_categories == ["n<1K"]
    assert [f["split"] for f in card.data.configs[0]["data_files"]] == ["train", "validation"]
    header, rows = read_table(text.split("## Sources")[1].split("## Columns", maxsplit=1)[0])
    assert header == ["instruction_source", "train", "validation", "share", "teacher model(s)"]
    sources = {row[0]: row[1:] for row in rows}
    assert sources["alpaca"] == ["1", "1", "50.0%", "text-davinci-003"]
    assert sources["self_instruct_with_topic"] == ["1", "0", "25.0%", "replay:gpt-3.5-turbo"]
    assert sum(int(row[1]) + int(row[2]) for row in rows) == 4  # every row counted once
    assert "Created: 2026-01-02" in text and "$0.2500" in text and "CC BY-NC 4.0." in text
    # the card as the hub reads it back
    assert DatasetCard(text).data.license == "cc-by-nc-4.0"


def test_card_lists_only_the_columns_that_exist_and_explains_each_teacher_model():
    dataset = _dataset().assign(teacher_model=["text-davinci-003", "local:SmolLM2", "gpt-4o-mini", "replay:human-seed"])
    dataset["request_id"] = [None, "r0", "r2", "r1"]
    text = str(build_dataset_card(dataset.drop(columns=["cost_usd", "prompt_tokens"]), SETTINGS, "2026-01-02"))
    columns = text.split("## Columns")[1].split("##", maxsplit=1)[0]
    assert "`instruction`" in columns and "`completion_tokens`" in columns and "`request_id`" in columns
    assert "cost_usd" not in columns and "prompt_tokens" not in columns and "`split`" not in columns
    teachers = text.split("## Teacher models")[1].split("## Licence", maxsplit=1)[0]
    kinds = {line.split(" | ")[0].strip("| `"): line.split(" | ")[2] for line in teachers.splitlines() if "| `" in line}
    assert kinds["text-davinci-003"].startswith("imported from a published dataset")
    assert kinds["local:SmolLM2"].startswith("answered in this run by a model on this machine")
    assert kinds["gpt-4o-mini"].startswith("answered in this run by the teacher API")
    assert kinds["replay:human-seed"].startswith("the project's replay teacher")


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
    assert DatasetCard.load(target / "README.md").data.pretty_name == "Tiny LaMini"
    assert [p.name for p in tmp_path.iterdir()] == ["hf_export"]


def test_export_refuses_empty_dataset():
    with pytest.raises(ValueError, match="empty"):
        export_hf_dataset(_dataset().iloc[:0], SETTINGS)
