import pandas as pd
import pytest
from conf_params import conf_block
from pydantic import ValidationError

from lamini_lm.pipelines.distillation.assemble import (
    DATASET_COLUMNS,
    assemble_lamini_dataset,
    split_by_source,
)
from lamini_lm.pipelines.distillation.imports import empty_pairs, typed_pairs
from lamini_lm.pipelines.distillation.params import SplitParams

from .conftest import ASSEMBLE


def _pairs(instructions, source, teacher="t", request_ids=None):
    n = len(instructions)
    return typed_pairs(
        pd.DataFrame(
            {
                "instruction": instructions,
                "response": [f"answer {i}" for i in range(n)],
                "instruction_source": source,
                "teacher_model": teacher,
                "prompt_tokens": [10] * n if request_ids else [None] * n,
                "completion_tokens": [5] * n if request_ids else [None] * n,
                "cost_usd": [0.001] * n if request_ids else [None] * n,
                "request_id": request_ids or [None] * n,
            }
        )
    )


def test_teacher_answers_win_duplicates_and_columns_match_contract():
    teacher = _pairs(["Name a colour.", "Count to 3."], "self_instruct_with_topic", "gpt-4o", ["r1", "r2"])
    lamini = _pairs(["name a   COLOUR.", "Say hi.", "Say bye."], "lamini_sample")
    out = assemble_lamini_dataset(ASSEMBLE, teacher, lamini)
    assert list(out.columns) == DATASET_COLUMNS
    assert len(out) == 4
    kept = out[out["instruction"].str.lower().str.contains("colour")]
    assert kept["instruction_source"].tolist() == ["self_instruct_with_topic"]
    assert kept["request_id"].tolist() == ["r1"]


def test_teacher_answers_can_be_left_out():
    teacher = _pairs(["a"], "s", "gpt", ["r1"])
    without = ASSEMBLE.model_copy(update={"include_teacher_answers": False})
    out = assemble_lamini_dataset(without, teacher, _pairs(["b", "c"], "x"))
    assert set(out["instruction_source"]) == {"x"}


def test_empty_union_is_a_clear_error():
    with pytest.raises(ValueError, match="lamini_dataset would be empty"):
        assemble_lamini_dataset(ASSEMBLE, empty_pairs(), empty_pairs())


def test_splits_are_stratified_and_seeded():
    frame = pd.concat([_pairs([f"a{i}" for i in range(100)], "a"), _pairs([f"b{i}" for i in range(10)], "b")])
    frame = frame.reset_index(drop=True)
    splits = SplitParams.model_validate(
        conf_block("distillation.assemble.splits", validation_fraction=0.1, min_validation_per_source=1, seed=3)
    )
    labels = split_by_source(frame, splits)
    counts = pd.crosstab(frame["instruction_source"], labels)
    assert counts.loc["a", "validation"] == 10 and counts.loc["b", "validation"] == 1
    assert labels.equals(split_by_source(frame, splits))
    assert not labels.equals(split_by_source(frame, splits.model_copy(update={"seed": 4})))
    single = _pairs(["only"], "c")
    assert split_by_source(single, splits).tolist() == ["train"]
    capped = split_by_source(frame, splits.model_copy(update={"max_validation_per_source": 2}))
    assert (capped == "validation").sum() == 3


def test_bad_fraction_names_the_key():
    with pytest.raises(ValidationError, match="validation_fraction"):
        SplitParams.model_validate(conf_block("distillation.assemble.splits", validation_fraction=1.5))
