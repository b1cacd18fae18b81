import json
import logging

import pytest

from lamini_lm.datasets.instruction_source import InstructionSourceDataset
from lamini_lm.pipelines.instruction_generation.nodes import normalise_sources
from lamini_lm.pipelines.instruction_generation.sources import normalise_source


def _jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def test_wrong_columns_and_bad_rows_are_named(tmp_path):
    wrong = InstructionSourceDataset(filepath=str(_jsonl(tmp_path / "w.jsonl", [{"text": "x"}]))).load()
    with pytest.raises(ValueError, match=r"'original_p3' \(.*w\.jsonl\) lacks column\(s\) \['template', 'prompt'\]"):
        normalise_source(wrong, "original_p3")
    rows = [{"template": "t", "prompt": "fine"}, {"template": "t", "prompt": ""}]
    bad = InstructionSourceDataset(filepath=str(_jsonl(tmp_path / "b.jsonl", rows))).load()
    with pytest.raises(ValueError, match=r"b\.jsonl, line 2: field 'prompt' must be a non-empty string"):
        normalise_source(bad, "original_p3")


def test_unconfigured_source_is_skipped_with_a_log_line(tmp_path, caplog):
    seeds = _jsonl(
        tmp_path / "seeds.jsonl",
        [
            {
                "id": "seed_task_0",
                "instruction": "Sort the words.",
                "instances": [{"input": "pear, apple", "output": ""}],
            },
        ],
    )
    alpaca = tmp_path / "alpaca.json"
    alpaca.write_text(
        json.dumps(
            [
                {"instruction": "Arrange the given words in a sentence.", "input": "genetic, beings", "output": "x"},
                {"instruction": "Name a colour.", "input": "", "output": "red"},
            ]
        ),
        encoding="utf-8",
    )
    with caplog.at_level(logging.INFO):
        frame = normalise_sources(
            InstructionSourceDataset(filepath=str(seeds)).load(),
            InstructionSourceDataset(filepath=str(alpaca)).load(),
            InstructionSourceDataset().load(),
            None,
        )
    assert "'original_p3' is not configured" in caplog.text and "'original_flan' is not configured" in caplog.text
    assert frame.to_dict("records") == [
        {
            "instruction": 'Sort the words: "pear, apple"',
            "instruction_source": "seed",
            "source_id": "seed_task_0",
            "subset": None,
        },
        {
            "instruction": 'Arrange the given words in a sentence: "genetic, beings"',
            "instruction_source": "alpaca",
            "source_id": "alpaca/1",
            "subset": None,
        },
        {"instruction": "Name a colour.", "instruction_source": "alpaca", "source_id": "alpaca/2", "subset": None},
    ]


def test_an_empty_optional_source_is_reported(tmp_path, caplog):
    (tmp_path / "empty.jsonl").write_text("", encoding="utf-8")
    source = InstructionSourceDataset(filepath=str(tmp_path / "empty.jsonl"), optional=True)
    with caplog.at_level(logging.WARNING):
        frame = normalise_source(source.load(), "original_p3")
    assert frame.empty and "'original_p3'" in caplog.text and "empty.jsonl" in caplog.text and "optional" in caplog.text


def test_p3_and_flan_rows_name_their_subset(tmp_path):
    p3 = [{"template": "squad_q", "prompt": "Q1"}, {"template": "imdb_s", "prompt": "Q2"}]
    frame = normalise_source(
        InstructionSourceDataset(filepath=str(_jsonl(tmp_path / "p3.jsonl", p3))).load(), "original_p3"
    )
    assert frame["subset"].tolist() == ["squad_q", "imdb_s"] and frame["source_id"].tolist() == [
        "squad_q/1",
        "imdb_s/2",
    ]
    flan = [{"inputs": "Translate x.", "task": "wmt16"}, {"inputs": "Sum up y.", "task": "cnn_dm"}]
    frame = normalise_source(
        InstructionSourceDataset(filepath=str(_jsonl(tmp_path / "flan.jsonl", flan))).load(), "original_flan"
    )
    assert frame["subset"].tolist() == ["wmt16", "cnn_dm"]


def test_bundled_pools_load(raw_data):
    seeds = InstructionSourceDataset(filepath=str(raw_data / "seeds/self_instruct_seed_tasks.jsonl")).load()
    assert len(normalise_source(seeds, "seed")) == 175
