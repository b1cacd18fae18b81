"""The distillation chains run with SequentialRunner on an in-memory catalog and a replay teacher."""

import pandas as pd
from conf_params import conf_block
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from lamini_lm.datasets.distilled_records import DistilledRecordsDataset
from lamini_lm.datasets.parquet import OptionalParquetDataset
from lamini_lm.pipelines.distillation import create_data_pipeline, create_pipeline
from lamini_lm.pipelines.distillation.imports import PAIR_COLUMNS
from lamini_lm.pipelines.distillation.params import CleaningParams, RequestParams
from lamini_lm.pipelines.distillation.pipeline import create_teacher_pipeline
from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.replay import serve
from lamini_lm.teacher.replay.corpus import load_corpus

from .conftest import ALPACA_SOURCE, ASSEMBLE, LAMINI_SOURCE

CLEANING = CleaningParams.model_validate(
    conf_block(
        "distillation.cleaning",
        truncated="drop",
        drop_echo=True,
        echo_min_new_chars=10,
        refusal_window_chars=300,
        refusal_patterns=[r"\bas an ai language model\b"],
    )
)
FIXTURES = {
    "Name a colour of the sky.": "The sky is usually blue on a clear day.",
    "Tell me a secret.": "As an AI language model, I do not have secrets.",
    "What are the three primary colors?": "Red, yellow and blue are the traditional primaries.",
    "Repeat after me: hello world.": "Repeat after me: hello world.",
}


def _catalog(tmp_path, lamini_jsonl, alpaca_json, pool, teacher):
    catalog = DataCatalog(
        datasets={
            "instruction_pool": MemoryDataset(pool),
            "distillation_lamini_raw": DistilledRecordsDataset(filepath=str(lamini_jsonl)),
            "distillation_alpaca_raw": DistilledRecordsDataset(filepath=str(alpaca_json)),
            "distillation_teacher_pairs": OptionalParquetDataset(
                filepath=str(tmp_path / "teacher_pairs.parquet"), columns=PAIR_COLUMNS
            ),
            "lamini_dataset": MemoryDataset(),
            "distillation_cleaning_log": MemoryDataset(),
            "distillation_cleaning_report": MemoryDataset(),
        }
    )
    params = {
        "params:teacher": teacher,
        "params:distillation.requests": RequestParams.model_validate(
            conf_block("distillation.requests", system_prompt=None, limit=None)
        ),
        "params:distillation.cleaning": CLEANING,
        "params:distillation.imports.lamini": LAMINI_SOURCE,
        "params:distillation.imports.alpaca": ALPACA_SOURCE,
        "params:distillation.assemble": ASSEMBLE,
    }
    for key, value in params.items():
        catalog[key] = value
    return catalog


def _pool(instructions):
    return pd.DataFrame(
        {
            "instruction": instructions,
            "instruction_source": "self_instruct_with_topic",
            "source_id": "s",
            "prompt_id": "p",
            "teacher_model": "replay",
            "created_at": "2026-01-01",
        }
    )


def test_data_chain_builds_lamini_dataset_without_a_teacher(tmp_path, lamini_jsonl, alpaca_json):
    teacher = TeacherSettings.model_validate(conf_block("teacher"))
    catalog = _catalog(tmp_path, lamini_jsonl, alpaca_json, _pool(["x"]), teacher)
    SequentialRunner().run(create_data_pipeline(), catalog)
    dataset = catalog.load("lamini_dataset")
    # 3 LaMini rows + 2 usable Alpaca rows, one Alpaca instruction already in LaMini.
    assert len(dataset) == 4
    assert dataset["instruction_source"].value_counts().to_dict() == {"lamini_sample": 3, "alpaca": 1}
    assert set(dataset["split"]) <= {"train", "validation"}


def test_teacher_answers_are_cleaned_and_win_duplicates(tmp_path, lamini_jsonl, alpaca_json):
    pool = _pool([*FIXTURES, "An instruction nobody recorded."])
    with serve(corpus=load_corpus(None, None, None, None), extra=FIXTURES) as replay:
        teacher = TeacherSettings.model_validate(
            conf_block(
                "teacher",
                base_url=replay.base_url,
                cache_path=str(tmp_path / "cache.sqlite"),
                progress=False,
                max_retries=0,
                max_tokens=64,
                replay={"serve": False},  # this test serves its own replay teacher
            )
        )
        catalog = _catalog(tmp_path, lamini_jsonl, alpaca_json, pool, teacher)
        SequentialRunner().run(create_teacher_pipeline() + create_data_pipeline(), catalog)
    report = catalog.load("distillation_cleaning_report")
    assert report["requests"] == 5 and report["kept"] == 2
    log = catalog.load("distillation_cleaning_log")
    assert sorted(log["reason"].str.split(":").str[0]) == ["echo", "failed", "refusal"]
    dataset = catalog.load("lamini_dataset")
    primaries = dataset[dataset["instruction"] == "What are the three primary colors?"]
    assert primaries["instruction_source"].tolist() == ["self_instruct_with_topic"]
    assert primaries["teacher_model"].iloc[0].startswith("replay:")
    assert primaries["request_id"].iloc[0].startswith("distill-")
    assert (tmp_path / "teacher_pairs.parquet").exists()
    assert len(dataset) == 3 + 1 + 2 - 1 - 0  # lamini 3 + alpaca 1 + teacher 2, minus 1 shared


def test_full_pipeline_is_teacher_then_data_then_reports():
    names = {node.name for node in create_pipeline().nodes}
    assert {"ask_teacher_node", "assemble_lamini_dataset_node", "write_summary_node"} <= names
    assert not any("teacher" in i for n in create_data_pipeline().nodes for i in n.inputs if i.startswith("params:"))
    # The registry may add the data chain to `training`; `__default__` then still runs each node once.
    combined = create_pipeline() + create_data_pipeline()
    assert len(combined.nodes) == len(create_pipeline().nodes)
