"""DistilledRecordsDataset: rows indexed by their line in the file, fast (Arrow) or exact (Python)."""

import json

import pandas as pd
import pytest
from kedro.io import DatasetError

from lamini_lm.datasets.distilled_records import DistilledRecordsDataset


def test_json_lines_are_indexed_by_line(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"text": "a"}\n\n{"text": "b"}\n', encoding="utf-8")
    frame = DistilledRecordsDataset(filepath=str(path)).load()
    assert frame.index.tolist() == [1, 3] and frame["text"].tolist() == ["a", "b"]
    assert frame.attrs["source_file"] == str(path)


def test_json_list_records_carry_the_line_they_start_on(tmp_path):
    path = tmp_path / "list.json"
    path.write_text(json.dumps([{"instruction": "ok"}, {"instruction": "x"}], indent=2), encoding="utf-8")
    frame = DistilledRecordsDataset(filepath=str(path)).load()
    assert frame.index.tolist() == [2, 5] and frame.attrs["source_file"] == str(path)


def test_invalid_json_line_names_file_and_line(tmp_path):
    path = tmp_path / "broken.jsonl"
    path.write_text('{"text": "a\\nResponse: b"}\n{"text": \n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"broken\.jsonl, line 2: invalid JSON"):
        DistilledRecordsDataset(filepath=str(path)).load()


def test_exactly_one_location_and_read_only(tmp_path):
    with pytest.raises(DatasetError, match="exactly one of 'filepath' or 'hf_path'"):
        DistilledRecordsDataset()
    with pytest.raises(DatasetError, match="exactly one"):
        DistilledRecordsDataset(filepath="a.jsonl", hf_path="org/name")
    with pytest.raises(DatasetError, match="read-only"):
        DistilledRecordsDataset(filepath=str(tmp_path / "a.jsonl")).save(pd.DataFrame())
    assert not DistilledRecordsDataset(filepath=str(tmp_path / "a.jsonl")).exists()
