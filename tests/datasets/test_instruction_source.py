"""InstructionSourceDataset: records of a source pool with their file and line, or None when not configured."""

import json

import pandas as pd
import pytest
from kedro.io import DatasetError

from lamini_lm.datasets.instruction_source import LOCATION_COLUMNS, InstructionSourceDataset


def test_records_keep_their_file_and_line(tmp_path):
    path = tmp_path / "p3.jsonl"
    path.write_text('{"template": "t", "prompt": "a"}\n\n{"template": "t", "prompt": "b"}\n', encoding="utf-8")
    frame = InstructionSourceDataset(filepath=str(path)).load()
    assert frame[LOCATION_COLUMNS].values.tolist() == [[str(path), 1], [str(path), 3]]
    assert len(InstructionSourceDataset(filepath=str(path), max_rows=1).load()) == 1


def test_bad_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "p3.jsonl"
    path.write_text('{"template": "t", "prompt": "ok"}\n{"template": "t", "prompt": \n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"p3\.jsonl, line 2: invalid JSON"):
        InstructionSourceDataset(filepath=str(path)).load()


def test_bad_json_list_names_file_and_line(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text('[\n {"instruction": "a"},\n {"instruction": }\n]', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"alpaca\.json, line 3"):
        InstructionSourceDataset(filepath=str(path)).load()


def test_missing_file_is_an_error_not_a_skip(tmp_path):
    with pytest.raises(DatasetError, match="file not found"):
        InstructionSourceDataset(filepath=str(tmp_path / "nope.jsonl")).load()


def test_unconfigured_source_loads_as_none_and_is_read_only(tmp_path):
    assert InstructionSourceDataset().load() is None
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"instruction": "a"}]), encoding="utf-8")
    with pytest.raises(DatasetError, match="read-only"):
        InstructionSourceDataset(filepath=str(path)).save(pd.DataFrame())


def test_bad_catalog_arguments_are_named():
    with pytest.raises(DatasetError, match="file_format"):
        InstructionSourceDataset(filepath="x.csv", file_format="csv")
    with pytest.raises(DatasetError, match="hf_dataset"):
        InstructionSourceDataset(hf_dataset={"path": "tatsu-lab/alpaca", "splt": "train"})
    described = str(InstructionSourceDataset(hf_dataset={"path": "tatsu-lab/alpaca"}))
    assert "'path': 'tatsu-lab/alpaca'" in described and "'split': 'train'" in described
