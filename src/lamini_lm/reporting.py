"""The one way the project writes a markdown table: ``DataFrame.to_markdown`` (tabulate)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd


def dataframe_markdown(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured (pipe) markdown table of ``rows`` under ``header``, through ``DataFrame.to_markdown``.

    Every cell is shown as its text (numbers are not re-formatted). A ``|`` in a cell is escaped (``\\|``)
    and a line break becomes a space, so a cell never splits its row: tabulate writes both as they are.
    """
    frame = pd.DataFrame([[_cell(cell) for cell in row] for row in rows], columns=[_cell(h) for h in header])
    return frame.to_markdown(index=False, tablefmt="pipe", disable_numparse=True)


def _cell(value: Any) -> str:
    return " ".join(str(value).replace("|", "\\|").splitlines())
