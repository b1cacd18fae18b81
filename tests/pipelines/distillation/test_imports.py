import json

import pandas as pd
import pytest
from conf_params import conf_block
from pydantic import ValidationError

from lamini_lm.datasets.distilled_records import DistilledRecordsDataset
from lamini_lm.pipelines.distillation.imports import PAIR_COLUMNS, import_published
from lamini_lm.pipelines.distillation.params import ImportSource

from .conftest import ALPACA_SOURCE, LAMINI_SOURCE


def test_fmengine_text_splits_on_first_separator(lamini_jsonl):
    pairs = import_published(DistilledRecordsDataset(filepath=str(lamini_jsonl)).load(), LAMINI_SOURCE)
    assert list(pairs.columns) == PAIR_COLUMNS
    assert pairs["instruction"].tolist()[:2] == ["List two colours", 'Arrange the words: "a, b"']
    assert pairs.loc[1, "response"] == "a b\nResponse: inside"
    assert set(pairs["instruction_source"]) == {"lamini_sample"}
    assert set(pairs["teacher_model"]) == {"gpt-3.5-turbo-0301"}  # EACL §3, footnote 2
    assert pairs["request_id"].isna().all() and pairs["prompt_tokens"].isna().all()


def test_alpaca_folds_input_and_drops_no_answers(alpaca_json, caplog):
    pairs = import_published(DistilledRecordsDataset(filepath=str(alpaca_json)).load(), ALPACA_SOURCE)
    assert pairs["instruction"].tolist() == ["What are the three primary colors?", 'Sort the words: "pear, apple"']
    assert "dropped 1 empty and 1 'no answer'" in caplog.text


def test_missing_separator_names_file_and_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "a\\nResponse: b"}\n\n{"text": "no separator here"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl line 3: no '\\nResponse: ' separator"):
        import_published(DistilledRecordsDataset(filepath=str(path)).load(), LAMINI_SOURCE)


def test_json_list_record_lines_and_bad_field(tmp_path):
    rows = [{"instruction": "ok", "output": "fine"}, {"instruction": 3, "output": "x"}]
    path = tmp_path / "list.json"
    path.write_text(json.dumps(rows, indent=2), encoding="utf-8")
    records = DistilledRecordsDataset(filepath=str(path)).load()
    assert records.index.tolist() == [2, 6]
    with pytest.raises(ValueError, match=r"list\.json line 6: field 'instruction'"):
        import_published(records, ALPACA_SOURCE)


def test_missing_column_and_unknown_format(alpaca_json):
    records = DistilledRecordsDataset(filepath=str(alpaca_json)).load()
    with pytest.raises(KeyError, match="lacks column.*'text'"):
        import_published(records, LAMINI_SOURCE)
    with pytest.raises(ValidationError, match="format"):
        ImportSource.model_validate(conf_block("distillation.imports.alpaca", format="csv"))
    with pytest.raises(ValidationError, match=r"import source 'lamini' \(format fmengine_text\) needs \['separator'\]"):
        ImportSource.model_validate(conf_block("distillation.imports.lamini", separator=None))


def test_disabled_source_gives_no_rows(alpaca_json):
    records = DistilledRecordsDataset(filepath=str(alpaca_json)).load()
    disabled = ImportSource.model_validate(conf_block("distillation.imports.alpaca", enabled=False))
    assert import_published(records, disabled).empty


def test_columns_format_takes_source_column():
    records = pd.DataFrame(
        {"instruction": ["a", "b"], "response": ["x", "y"], "instruction_source": ["alpaca", "generated_p3"]},
        index=pd.Index([1, 2], name="line"),
    )
    source = ImportSource.model_validate(
        conf_block(
            "distillation.imports.lamini",
            name="hub",
            format="columns",
            source_column="instruction_source",
            instruction_source=None,
            teacher_model="gpt-3.5-turbo",
        )
    )
    pairs = import_published(records, source)
    assert pairs["instruction_source"].tolist() == ["alpaca", "generated_p3"]


def test_bundled_sources_parse_completely(raw_data):
    lamini = DistilledRecordsDataset(
        filepath=str(raw_data / "distilled/lamini/lamini_instruction_10k_fmengine.jsonl")
    ).load()
    alpaca = DistilledRecordsDataset(
        filepath=str(raw_data / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json")
    ).load()
    assert len(import_published(lamini, LAMINI_SOURCE)) == 10_001
    assert len(import_published(alpaca, ALPACA_SOURCE)) == 1_727 - 5


def test_missing_field_in_one_line_is_named(tmp_path):
    path = tmp_path / "gap.jsonl"
    path.write_text('{"text": "a\\nResponse: b"}\n{"other": "x"}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"gap\.jsonl line 2: field 'text' is missing"):
        import_published(DistilledRecordsDataset(filepath=str(path)).load(), LAMINI_SOURCE)
