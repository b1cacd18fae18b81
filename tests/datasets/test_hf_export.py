"""HFDatasetExport: the export folder is swapped in whole, or not at all."""

import pytest
from huggingface_hub import DatasetCard
from kedro.io import DatasetError

from lamini_lm.datasets.hf_export import HFDatasetExport

CARD = "---\nlicense: cc-by-nc-4.0\n---\n\n# card\n"


def _export(rows):
    import datasets

    return {
        "dataset": datasets.DatasetDict({"train": datasets.Dataset.from_dict({"a": rows})}),
        "card": DatasetCard(CARD),
    }


def test_a_failed_export_keeps_the_previous_one(tmp_path):
    target = tmp_path / "export"
    dataset = HFDatasetExport(path=str(target))
    assert not dataset.exists()
    dataset.save(_export([1, 2]))
    with pytest.raises(DatasetError, match="Failed while saving"):
        dataset.save({"dataset": _export([3])["dataset"], "card": None})  # fails last, inside the write
    assert dataset.load()["train"]["a"] == [1, 2]
    assert (target / "README.md").read_text() == CARD
    assert DatasetCard.load(target / "README.md").data.license == "cc-by-nc-4.0"
    assert [p.name for p in tmp_path.iterdir()] == ["export"]


def test_push_to_hub_takes_repo_id_and_private():
    with pytest.raises(DatasetError, match=r"push_to_hub takes \{repo_id, private\}"):
        HFDatasetExport(path="x", push_to_hub={"repo": "me/data"})
    with pytest.raises(DatasetError, match="no exported dataset here"):
        HFDatasetExport(path="nowhere").load()
