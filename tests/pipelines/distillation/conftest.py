"""Fixtures of the distillation tests: tiny published sources written to tmp files."""

from __future__ import annotations

import json

import pytest


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


LAMINI_SOURCE = {
    "name": "lamini",
    "format": "fmengine_text",
    "separator": "\nResponse: ",
    "instruction_source": "lamini_sample",
    "teacher_model": "gpt-3.5-turbo",
}
ALPACA_SOURCE = {
    "name": "alpaca",
    "format": "alpaca",
    "instruction_source": "alpaca",
    "teacher_model": "text-davinci-003",
    "drop_responses": ["<nooutput>"],
}
ASSEMBLE = {
    "include_teacher_answers": True,
    "dedupe": True,
    "splits": {"validation_fraction": 0.5, "min_validation_per_source": 1, "seed": 7},
}
