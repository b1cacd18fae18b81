"""BenchmarkSourceDataset reads JSON lines through the shared reader: a bad line is named."""

import pytest
from kedro.io import DatasetError

from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset


def test_jsonl_records_with_labels_from_the_companion_file(tmp_path):
    (tmp_path / "dev.jsonl").write_text('{"goal": "a"}\n\n{"goal": "b"}\n')
    (tmp_path / "labels.txt").write_text("0\n1\n")
    loaded = BenchmarkSourceDataset(
        filepath=str(tmp_path / "dev.jsonl"), labels_filepath=str(tmp_path / "labels.txt")
    ).load()
    assert loaded["records"] == [{"goal": "a", "label": "0"}, {"goal": "b", "label": "1"}]


def test_a_malformed_jsonl_line_loads_as_an_error_naming_file_and_line(tmp_path):
    (tmp_path / "dev.jsonl").write_text('{"goal": "a"}\n{"goal": \n')
    raw = BenchmarkSourceDataset(filepath=str(tmp_path / "dev.jsonl")).load()
    assert raw["records"] is None and raw["source"] == str(tmp_path / "dev.jsonl")
    assert "dev.jsonl, line 2: invalid JSON" in raw["error"]


def test_a_missing_file_still_stops_the_run(tmp_path):
    with pytest.raises(DatasetError, match=r"nothing\.jsonl does not exist"):
        BenchmarkSourceDataset(filepath=str(tmp_path / "nothing.jsonl")).load()
