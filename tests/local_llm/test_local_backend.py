"""The in-process ``transformers`` backend on real converted weights (a tiny LLaMA the test writes as GGUF)."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block
from local_llm_helpers import packaged_params

from lamini_lm.datasets.packaged_model import PackagedModelDataset
from lamini_lm.pipelines.packaged_model.nodes import convert_packaged_model
from lamini_lm.teacher import TeacherSettings, complete


@pytest.fixture
def tiny_folder(tiny_gguf_dataset, tmp_path):
    dataset = PackagedModelDataset(filepath=str(tmp_path / "tiny"))
    dataset.save(convert_packaged_model(tiny_gguf_dataset.load(), packaged_params()))
    return dataset.load()


def _teacher(**local):
    return TeacherSettings.model_validate(
        conf_block(
            "teacher",
            env="local_llm",
            backend="transformers",
            model="local:SmolLM2-135M-Instruct",
            cache_path=None,
            progress=False,
            local={"batch_size": 1, **local},
        )
    )


REQUEST = pd.DataFrame({"request_id": ["a"], "messages": [[{"role": "user", "content": "Hi"}]], "max_tokens": [4]})


def test_the_in_process_backend_loads_local_path_and_labels_results_like_the_served_model(tiny_folder):
    results = complete(REQUEST, _teacher(path=tiny_folder))
    assert results["teacher_model"].tolist() == ["local:SmolLM2-135M-Instruct"]
    assert results["error_kind"].isna().all()
    assert results["completion_tokens"].iloc[0] >= 1


def test_an_unloadable_local_path_names_its_key(tmp_path):
    with pytest.raises(RuntimeError, match=r"teacher\.local\.path"):
        complete(REQUEST, _teacher(path=str(tmp_path / "missing")))
