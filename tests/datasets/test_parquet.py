"""AtomicParquetDataset and OptionalParquetDataset: a save never leaves half a file."""

import pandas as pd
import pytest
from kedro.io import DatasetError

from lamini_lm.datasets.parquet import AtomicParquetDataset, OptionalParquetDataset


def test_optional_parquet_is_empty_until_saved(tmp_path):
    dataset = OptionalParquetDataset(filepath=str(tmp_path / "x" / "pairs.parquet"), columns=["a", "b"])
    assert list(dataset.load().columns) == ["a", "b"] and dataset.load().empty
    dataset.save(pd.DataFrame({"a": [1], "b": ["x"]}))
    assert dataset.load().to_dict("records") == [{"a": 1, "b": "x"}]
    assert [p.name for p in (tmp_path / "x").iterdir()] == ["pairs.parquet"]


def test_a_failed_save_keeps_the_previous_file(tmp_path):
    dataset = AtomicParquetDataset(filepath=str(tmp_path / "table.parquet"))
    with pytest.raises(DatasetError, match="file not found"):
        dataset.load()
    dataset.save(pd.DataFrame({"a": [1, 2]}))
    with pytest.raises(Exception):  # noqa: B017 - whatever pyarrow raises for an unconvertible column
        dataset.save(pd.DataFrame({"a": [object()]}))
    assert dataset.load()["a"].tolist() == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]
