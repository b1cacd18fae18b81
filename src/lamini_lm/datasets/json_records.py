"""Reading JSON-lines, JSON-list and text files so that a bad record or byte is named by file and line.

Every reader of JSON records and bundled text in the project goes through this module:
:func:`read_json_records` (Python objects, any size of file the caller is happy to hold as dicts),
:func:`read_json_lines_frame` (JSON lines straight into a frame through Arrow, for millions of
rows; when Arrow refuses a file, :func:`read_json_records` names the offending line) and
:func:`read_text` (a whole text file). A byte that is not valid in the file's encoding raises
:class:`TextDecodeError` naming the file, line and column, never a bare ``UnicodeDecodeError``.
A file that holds no record at all is an error too, unless the caller allows it (an optional source).
"""

from __future__ import annotations

import bisect
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from kedro.io import DatasetError


class TextDecodeError(DatasetError, ValueError):
    """A byte of a file is not valid in its encoding; the message names the file, line and column."""


def _decode_error(
    path: Path, data: bytes, exc: UnicodeDecodeError, encoding: str, first_line: int = 1
) -> TextDecodeError:
    line_start = data.rfind(b"\n", 0, exc.start) + 1
    line = first_line + data.count(b"\n", 0, exc.start)
    column = exc.start - line_start + 1
    byte = data[exc.start : exc.start + 1].hex()
    return TextDecodeError(
        f"{path}, line {line}, column {column}: byte 0x{byte} is not valid {encoding} ({exc.reason}). "
        f"Re-save the file as {encoding} (or fix that byte)."
    )


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """The text of ``path``; a byte invalid in ``encoding`` raises :class:`TextDecodeError` naming file and line."""
    path = Path(path)
    data = path.read_bytes()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise _decode_error(path, data, exc, encoding) from None


def read_json_records(
    path: str | Path, file_format: str = "auto", max_rows: int | None = None, allow_empty: bool = False
) -> tuple[list[dict[str, Any]], list[int]]:
    """The JSON objects of ``path`` and the line each starts on.

    ``file_format`` is ``json`` (a list of objects), ``jsonl`` (one object per line) or ``auto``
    (by suffix: ``.json`` is a list). Invalid JSON, a byte that is not UTF-8, a non-object record or
    a missing file raise a :class:`DatasetError` naming the file and line; so does a file with no
    record at all (an empty file, ``[]``) unless ``allow_empty``. ``max_rows`` keeps the first
    records only.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetError(f"{path}: file not found (check its catalog entry).")
    if file_format == "auto":
        file_format = "json" if path.suffix == ".json" else "jsonl"
    if file_format not in ("json", "jsonl"):
        raise DatasetError(f"{path}: file_format must be 'auto', 'json' or 'jsonl', got {file_format!r}.")
    records, lines = (_read_json_list if file_format == "json" else _read_json_lines)(path, max_rows)
    for record, line in zip(records, lines):
        if not isinstance(record, dict):
            raise DatasetError(f"{path}, line {line}: expected a JSON object, got {type(record).__name__}.")
    if not records and not allow_empty and max_rows != 0:
        raise DatasetError(
            f"{path}: holds no records (an empty {'JSON list' if file_format == 'json' else 'JSON-lines file'}). "
            "Add records, point the catalog entry at the right file, or mark the source optional."
        )
    return records, lines


def _read_json_lines(path: Path, max_rows: int | None) -> tuple[list[Any], list[int]]:
    records: list[Any] = []
    lines: list[int] = []
    with path.open("rb") as handle:
        for number, data in enumerate(handle, start=1):
            if max_rows is not None and len(records) >= max_rows:
                break
            try:
                raw = data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _decode_error(path, data, exc, "utf-8", first_line=number) from None
            if not raw.strip():
                continue
            try:
                records.append(json.loads(raw))
            except json.JSONDecodeError as exc:
                raise DatasetError(f"{path}, line {number}: invalid JSON ({exc.msg}).") from exc
            lines.append(number)
    return records, lines


def _line_starts(text: str) -> list[int]:
    starts = [0]
    pos = text.find("\n")
    while pos != -1:
        starts.append(pos + 1)
        pos = text.find("\n", pos + 1)
    return starts


def _read_json_list(path: Path, max_rows: int | None) -> tuple[list[Any], list[int]]:
    text = read_text(path)
    starts = _line_starts(text)
    decoder = json.JSONDecoder()
    records: list[Any] = []
    lines: list[int] = []
    pos = len(text) - len(text.lstrip())
    if text[pos : pos + 1] != "[":
        raise DatasetError(f"{path}, line 1: expected a JSON list of records.")
    pos += 1
    while max_rows is None or len(records) < max_rows:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text):
            raise DatasetError(f"{path}: the JSON list is not closed with ']'.")
        if text[pos] == "]":
            break
        line = bisect.bisect_right(starts, pos)
        try:
            record, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{path}, line {exc.lineno}: invalid JSON ({exc.msg}).") from exc
        records.append(record)
        lines.append(line)
    return records, lines


def read_json_lines_frame(path: str | Path) -> pd.DataFrame | None:
    """A JSON-lines file as a frame indexed by ``line`` (1-based), through Arrow's C++ reader.

    Strings stay Arrow-backed (no Python object per row). ``None`` when Arrow refuses the file
    (bad JSON, a byte that is not UTF-8, a field whose type changes, a non-object line) or counts its rows differently from
    its non-blank lines: :func:`read_json_records` then finds and names the offending line.
    """
    import pyarrow as pa
    import pyarrow.json as pa_json

    try:
        table = pa_json.read_json(str(path))
        table.validate(full=True)  # Arrow's reader lets bytes that are not UTF-8 through; this finds them
    except pa.ArrowException:
        return None
    with open(path, "rb") as handle:
        lines = np.fromiter((n for n, raw in enumerate(handle, start=1) if raw.strip()), dtype=np.int64)
    if len(lines) != table.num_rows:
        return None
    strings = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}
    frame = table.to_pandas(types_mapper=strings.get)
    frame.index = pd.Index(lines, name="line")
    return frame
