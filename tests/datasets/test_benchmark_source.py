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


def test_a_malformed_jsonl_line_is_named_by_file_and_line(tmp_path):
    (tmp_path / "dev.jsonl").write_text('{"goal": "a"}\n{"goal": \n')
    with pytest.raises(DatasetError, match=r"dev.jsonl, line 2: invalid JSON"):
        BenchmarkSourceDataset(filepath=str(tmp_path / "dev.jsonl")).load()
