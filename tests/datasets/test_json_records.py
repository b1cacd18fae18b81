"""One reader for JSON-lines and JSON-list source files: every bad record is named by file and line."""

import pytest
from kedro.io import DatasetError

from lamini_lm.datasets.json_records import read_json_lines_frame, read_json_records


def test_json_list_records_carry_the_line_they_start_on(tmp_path):
    path = tmp_path / "list.json"
    path.write_text('[\n {"a": 1},\n\n {"a": 2,\n  "b": 3}\n]', encoding="utf-8")
    records, lines = read_json_records(path)
    assert records == [{"a": 1}, {"a": 2, "b": 3}]
    assert lines == [2, 4]
    assert read_json_records(path, max_rows=1) == ([{"a": 1}], [2])


def test_json_lines_skip_blank_lines_and_name_the_bad_one(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": 1}\n\n{"a": 2}\n[3]\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"rows\.jsonl, line 4: expected a JSON object, got list"):
        read_json_records(path)
    assert read_json_records(path, max_rows=2) == ([{"a": 1}, {"a": 2}], [1, 3])


def test_missing_file_and_unknown_format_are_named(tmp_path):
    with pytest.raises(DatasetError, match=r"nothing\.jsonl: file not found"):
        read_json_records(tmp_path / "nothing.jsonl")
    (tmp_path / "x.txt").write_text("{}")
    with pytest.raises(DatasetError, match="file_format"):
        read_json_records(tmp_path / "x.txt", file_format="csv")


def test_json_lines_through_arrow_match_the_exact_reader(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"a": "x", "n": 1}\n\n{"a": "y", "n": 2}\n', encoding="utf-8")
    frame = read_json_lines_frame(path)
    records, lines = read_json_records(path)
    assert frame.to_dict("records") == records and frame.index.tolist() == lines == [1, 3]
    assert frame.index.name == "line" and str(frame["a"].dtype) == "string"


@pytest.mark.parametrize(
    "text",
    ['{"a": 1}\n{"a": \n', '{"a": 1}\n[2]\n', '{"a": 1}\n{"a": "one"}\n'],
    ids=["bad JSON", "not an object", "type changes"],
)
def test_arrow_declines_what_the_exact_reader_must_name(tmp_path, text):
    path = tmp_path / "rows.jsonl"
    path.write_text(text, encoding="utf-8")
    assert read_json_lines_frame(path) is None
