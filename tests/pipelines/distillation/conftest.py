"""Fixtures of the distillation tests: tiny published sources written to tmp files, conf's parameters."""

from __future__ import annotations

import json

import pytest
from conf_params import conf_block

from lamini_lm.pipelines.distillation.params import AssembleParams, ImportSource


@pytest.fixture
def lamini_jsonl(tmp_path):
    rows = [
        {"text": "List two colours\nResponse: Red and blue."},
        {"text": 'Arrange the words: "a, b"\nResponse: a b\nResponse: inside'},
        {"text": "What are the three primary colors?\nResponse: Red, yellow and blue."},
    ]
    path = tmp_path / "lamini.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def alpaca_json(tmp_path):
    rows = [
        {"instruction": "What are the three primary colors?", "input": "", "output": "Red, blue, yellow."},
        {"instruction": "Sort the words.", "input": "pear, apple", "output": "apple, pear"},
        {"instruction": "Write a program.", "input": "", "output": "<nooutput> Not possible."},
        {"instruction": "Say nothing.", "input": "", "output": ""},
    ]
    path = tmp_path / "alpaca.json"
    path.write_text(json.dumps(rows, indent=4), encoding="utf-8")
    return path


LAMINI_SOURCE = ImportSource.model_validate(conf_block("distillation.imports.lamini"))
ALPACA_SOURCE = ImportSource.model_validate(conf_block("distillation.imports.alpaca"))
ASSEMBLE = AssembleParams.model_validate(
    conf_block("distillation.assemble", splits={"validation_fraction": 0.5, "min_validation_per_source": 1, "seed": 7})
)
