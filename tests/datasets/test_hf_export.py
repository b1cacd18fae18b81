"""HFDatasetExport: the export folder is swapped in whole, or not at all."""

import pytest
from kedro.io import DatasetError

from lamini_lm.datasets.hf_export import HFDatasetExport


def _export(rows):
    import datasets

    return {"dataset": datasets.DatasetDict({"train": datasets.Dataset.from_dict({"a": rows})}), "card": "# card\n"}


def test_a_failed_export_keeps_the_previous_one(tmp_path):
    target = tmp_path / "export"
    dataset = HFDatasetExport(path=str(target))
    assert not dataset.exists()
    dataset.save(_export([1, 2]))
    with pytest.raises(DatasetError, match="Failed while saving"):
        dataset.save({"dataset": _export([3])["dataset"], "card": None})  # fails last, inside the write
    assert dataset.load()["train"]["a"] == [1, 2]
    assert (target / "README.md").read_text() == "# card\n"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_push_to_hub_takes_repo_id_and_private():
    with pytest.raises(DatasetError, match=r"push_to_hub takes \{repo_id, private\}"):
        HFDatasetExport(path="x", push_to_hub={"repo": "me/data"})
    with pytest.raises(DatasetError, match="no exported dataset here"):
        HFDatasetExport(path="nowhere").load()
