"""Published distilled datasets as rows of ``lamini_dataset``.

Each configured source is a catalog entry read by ``DistilledRecordsDataset`` (index = source
line) and a parameter block naming its format, its ``instruction_source`` tag and its teacher.
Formats:

- ``fmengine_text``: one field ``text`` = instruction + separator + response (LaMini-instruction as
  re-formatted by fmengine; split on the *first* separator).
- ``alpaca``: ``instruction``, ``input``, ``output``; the input is folded into the instruction the
  way LaMini-instruction writes it (``lamini_lm.prompting.fold_input``).
- ``columns``: ``instruction`` and ``response`` columns, with the source tag taken from
  ``source_column`` where given (``MBZUAI/LaMini-instruction``).
"""

from __future__ import annotations

import logging

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lamini_lm.pipelines.distillation.params import ImportSource
from lamini_lm.prompting import fold_input

logger = logging.getLogger(__name__)

PAIR_COLUMNS = [
    "instruction",
    "response",
    "instruction_source",
    "teacher_model",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "request_id",
]


def empty_pairs() -> pd.DataFrame:
    """An empty table with the pair columns and their dtypes."""
    return typed_pairs(pd.DataFrame({column: [] for column in PAIR_COLUMNS}))


def typed_pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """The pair columns of ``frame`` in contract order with stable dtypes."""
    out = frame[PAIR_COLUMNS]  # copy-on-write: the casts below copy only what changes
    for column in ("instruction", "response", "instruction_source", "teacher_model", "request_id"):
        out[column] = out[column].astype("string")
    for column in ("prompt_tokens", "completion_tokens"):
        out[column] = pd.to_numeric(out[column]).astype("Int64")
    out["cost_usd"] = pd.to_numeric(out["cost_usd"]).astype("Float64")
    return out.reset_index(drop=True)


def _where(records: pd.DataFrame, name: str) -> str:
    return str(records.attrs.get("source_file", f"import source '{name}'"))


def _fail_rows(records: pd.DataFrame, name: str, bad: pd.Series, problem: str) -> None:
    if not bad.any():
        return
    lines = records.index[bad.to_numpy()]
    raise ValueError(
        f"{_where(records, name)} line {lines[0]}: {problem} "
        f"({len(lines)} bad row(s) in import source '{name}'; first at line {lines[0]}). "
        "Fix or remove the rows, or disable the source under 'distillation.imports'."
    )


def _require_columns(records: pd.DataFrame, name: str, columns: list[str]) -> None:
    missing = [column for column in columns if column not in records.columns]
    if missing:
        raise KeyError(
            f"{_where(records, name)}: import source '{name}' lacks column(s) {missing}; found {list(records.columns)}."
        )


def arrow_strings(values: pd.Series) -> pa.ChunkedArray:
    """The Arrow strings behind ``values`` (nulls kept; no Python object per row)."""
    array = values.astype("string").array.__arrow_array__()
    return array if isinstance(array, pa.ChunkedArray) else pa.chunked_array([array])


def _series(array: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(array), index=index, copy=False)


def _not_text(values: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
        return values.isna()
    return ~values.map(lambda value: isinstance(value, str))


def import_published(records: pd.DataFrame, source: ImportSource) -> pd.DataFrame:
    """Rows of a published source as instruction/response pairs with provenance.

    ``source`` is ``params:distillation.imports.<name>``: its ``format``, ``instruction_source``
    (or ``source_column``), ``teacher_model``, ``separator`` (``fmengine_text``),
    ``drop_responses`` (answers that mean "no answer", e.g. Alpaca's ``<nooutput>``) and
    ``enabled`` (false → no rows). Structurally bad rows (missing field, not text, no separator,
    empty instruction) raise naming the file and line; empty or "no answer" responses are dropped
    and counted in the log. Strings stay in Arrow throughout, so millions of rows cost no Python
    object per row.
    """
    name = source.name
    if not source.enabled:
        logger.info("Import source '%s' is disabled.", name)
        return empty_pairs()
    fmt = source.format
    if records.empty:
        raise ValueError(f"{_where(records, name)}: import source '{name}' has no rows.")

    if fmt == "fmengine_text":
        separator = source.separator
        _require_columns(records, name, ["text"])
        text = records["text"]
        _fail_rows(records, name, _not_text(text), "field 'text' is missing or not a string")
        array = arrow_strings(text)
        has_separator = pc.match_substring(array, separator).to_numpy(zero_copy_only=False)
        missing = pd.Series(~has_separator, index=records.index)
        _fail_rows(records, name, missing, f"no {separator!r} separator in 'text'")
        parts = pc.split_pattern(array, pattern=separator, max_splits=1)
        instruction = _series(pc.list_element(parts, 0), records.index)
        response = _series(pc.list_element(parts, 1), records.index)
        del parts, array
    elif fmt == "alpaca":
        _require_columns(records, name, ["instruction", "output"])
        _fail_rows(records, name, _not_text(records["instruction"]), "field 'instruction' is missing or not a string")
        _fail_rows(records, name, _not_text(records["output"]), "field 'output' is missing or not a string")
        inputs = records["input"] if "input" in records.columns else pd.Series(None, index=records.index)
        instruction = pd.Series(
            [fold_input(i, x if isinstance(x, str) else None) for i, x in zip(records["instruction"], inputs)],
            index=records.index,
            dtype="string",
        )
        response = records["output"].astype("string")
    else:
        _require_columns(records, name, ["instruction", "response"])
        _fail_rows(records, name, _not_text(records["instruction"]), "field 'instruction' is missing or not a string")
        _fail_rows(records, name, _not_text(records["response"]), "field 'response' is missing or not a string")
        instruction = records["instruction"].astype("string")
        response = records["response"].astype("string")

    instruction = _series(pc.utf8_trim_whitespace(arrow_strings(instruction)), records.index)
    response = _series(pc.utf8_trim_whitespace(arrow_strings(response)), records.index)
    _fail_rows(records, name, (instruction == "").fillna(True), "empty instruction")

    if source.source_column:
        _require_columns(records, name, [source.source_column])
        tags = records[source.source_column].astype("string")
    else:
        tags = pd.Series(source.instruction_source, index=records.index, dtype="string")
    frame = pd.DataFrame(
        {
            "instruction": instruction,
            "response": response,
            "instruction_source": tags,
            "teacher_model": source.teacher_model,
            "prompt_tokens": pd.NA,
            "completion_tokens": pd.NA,
            "cost_usd": pd.NA,
            "request_id": pd.NA,
        },
        copy=False,
    )
    empty = response == ""
    no_answer = pd.Series(False, index=records.index)
    for marker in source.drop_responses:
        no_answer |= response.str.startswith(marker)
    no_answer &= ~empty
    if empty.any() or no_answer.any():  # the published data's known gaps: recorded, not a problem to act on
        logger.info(
            "Import source '%s' (%s): dropped %d empty and %d 'no answer' response(s) (lines %s).",
            name,
            _where(records, name),
            int(empty.sum()),
            int(no_answer.sum()),
            list(records.index[(empty | no_answer).to_numpy()][:10]),
        )
    kept = frame[~(empty | no_answer).to_numpy()]
    logger.info("Import source '%s': %d rows from %s.", name, len(kept), _where(records, name))
    return typed_pairs(kept)
