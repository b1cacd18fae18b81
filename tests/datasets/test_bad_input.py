"""Bad input never passes silently: empty sources and bytes that are not UTF-8 are named by file and line."""

from __future__ import annotations

import json

import pytest
from kedro.io import DatasetError

from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
from lamini_lm.datasets.distilled_records import DistilledRecordsDataset
from lamini_lm.datasets.instruction_source import InstructionSourceDataset
from lamini_lm.datasets.json_records import TextDecodeError, read_json_records, read_text

ROWS = [{"template": "t", "prompt": f"Prompt number {i}."} for i in range(5)]


def _jsonl(path, rows=ROWS):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _corrupt_line(path, line: int, column: int = 12) -> None:
    """Replace one byte of ``line`` (1-based) with 0xff, which is never valid UTF-8."""
    lines = path.read_bytes().split(b"\n")
    target = bytearray(lines[line - 1])
    target[column - 1] = 0xFF
    lines[line - 1] = bytes(target)
    path.write_bytes(b"\n".join(lines))


@pytest.mark.parametrize("content, kind", [("", "JSON-lines file"), ("\n\n", "JSON-lines file")])
def test_an_empty_json_lines_file_is_an_error_naming_it(tmp_path, content, kind):
    path = tmp_path / "pool.jsonl"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=rf"pool\.jsonl: holds no records \(an empty {kind}\).*optional"):
        read_json_records(path)
    with pytest.raises(DatasetError, match=r"pool\.jsonl: holds no records"):
        InstructionSourceDataset(filepath=str(path)).load()


def test_an_empty_json_list_is_an_error_naming_it(tmp_path):
    path = tmp_path / "alpaca.json"
    path.write_text("[\n]\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"alpaca\.json: holds no records \(an empty JSON list\)"):
        InstructionSourceDataset(filepath=str(path)).load()
    with pytest.raises(DatasetError, match=r"alpaca\.json: holds no records"):
        DistilledRecordsDataset(filepath=str(path)).load()


def test_an_optional_source_may_be_empty(tmp_path):
    path = tmp_path / "pool.jsonl"
    path.write_text("", encoding="utf-8")
    frame = InstructionSourceDataset(filepath=str(path), optional=True).load()
    assert frame.empty and frame.attrs["source_file"] == str(path)
    assert read_json_records(path, allow_empty=True) == ([], [])


@pytest.mark.parametrize("file_format", ["jsonl", "json"])
def test_a_byte_that_is_not_utf8_is_named_by_file_line_and_column(tmp_path, file_format):
    path = tmp_path / f"rows.{file_format}"
    if file_format == "json":
        path.write_text("[\n" + ",\n".join(json.dumps(r) for r in ROWS) + "\n]\n", encoding="utf-8")
        line = 4  # the third record
    else:
        _jsonl(path)
        line = 3
    _corrupt_line(path, line)
    with pytest.raises(
        TextDecodeError, match=rf"rows\.{file_format}, line {line}, column 12: byte 0xff is not valid utf-8"
    ):
        read_json_records(path)
    with pytest.raises(DatasetError, match=rf"line {line}, column 12"):
        InstructionSourceDataset(filepath=str(path)).load()
    with pytest.raises(DatasetError, match=rf"line {line}, column 12"):
        DistilledRecordsDataset(filepath=str(path)).load()  # JSON lines go through Arrow first


def test_read_text_names_the_line_of_a_bad_byte(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_bytes("a\tb\nfine\trow\nnot \xe9 utf8\tx\n".encode("latin-1"))
    with pytest.raises(TextDecodeError, match=r"dev\.tsv, line 3, column 5: byte 0xe9 is not valid utf-8"):
        read_text(path)
    assert read_text(path, encoding="latin-1").splitlines()[2] == "not é utf8\tx"


def test_a_benchmark_file_with_a_bad_byte_or_no_records_loads_as_failed(tmp_path):
    path = _jsonl(tmp_path / "val.jsonl")
    _corrupt_line(path, 2)
    raw = BenchmarkSourceDataset(filepath=str(path)).load()
    assert raw["records"] is None and raw["source"] == str(path)
    assert "val.jsonl, line 2, column 12" in raw["error"]
    tsv = tmp_path / "dev.tsv"
    tsv.write_bytes(b"sentence\tlabel\ngood \xff\t1\n")
    raw = BenchmarkSourceDataset(filepath=str(tsv), file_format="tsv").load()
    assert raw["records"] is None and "dev.tsv, line 2, column 6" in raw["error"]
    tsv.write_text("sentence\tlabel\n", encoding="utf-8")
    raw = BenchmarkSourceDataset(filepath=str(tsv), file_format="tsv").load()
    assert raw["records"] is None and "dev.tsv: holds no records" in raw["error"]


def test_the_replay_corpus_names_the_file_and_line_of_a_bad_byte(tmp_path):
    from lamini_lm.teacher.replay.corpus import load_corpus

    path = _jsonl(tmp_path / "lamini.jsonl", [{"text": f"Say {i}.\nResponse: {i}"} for i in range(4)])
    assert len(load_corpus(str(path)).answers) == 4
    bad = tmp_path / "lamini_bad.jsonl"
    bad.write_bytes(path.read_bytes())
    _corrupt_line(bad, 3)
    with pytest.raises(TextDecodeError, match=r"lamini_bad\.jsonl, line 3, column 12: byte 0xff is not valid utf-8"):
        load_corpus(str(bad))
