"""Markdown tables read back as data, so that tests assert on cells, not on padding or byte layout."""

from __future__ import annotations

import re

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")
_DELIMITER = re.compile(r"^\|?(\s*:?-+:?\s*\|)+\s*:?-*:?\s*$")


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [cell.strip().replace("\\|", "|") for cell in _UNESCAPED_PIPE.split(inner)]


def read_tables(text: str) -> list[tuple[list[str], list[list[str]]]]:
    """Every pipe table in ``text`` as ``(header, rows)`` of cell texts (``\\|`` read back as ``|``).

    A table is a header line, a delimiter line (``|---|`` or ``|:---|``) and the ``|`` lines after it; a
    row whose cell count differs from the header's fails, as a renderer would show it broken.
    """
    lines = text.splitlines()
    tables = []
    for i in range(1, len(lines)):
        if not (_DELIMITER.match(lines[i].strip()) and lines[i - 1].lstrip().startswith("|")):
            continue
        header = _cells(lines[i - 1])
        rows = []
        for line in lines[i + 1 :]:
            if not line.lstrip().startswith("|"):
                break
            row = _cells(line)
            assert len(row) == len(header), f"row {row} has {len(row)} cells under a {len(header)}-column header"
            rows.append(row)
        tables.append((header, rows))
    return tables


def read_table(text: str) -> tuple[list[str], list[list[str]]]:
    """The one table of ``text`` (a section holding exactly one)."""
    tables = read_tables(text)
    assert len(tables) == 1, f"expected one table, found {len(tables)}"
    return tables[0]
