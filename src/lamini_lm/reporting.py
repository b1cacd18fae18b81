"""Small helpers shared by the markdown reports the pipelines write."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd


def markdown_table(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """A GitHub-flavoured markdown table of ``rows`` under ``header``, cells unpadded (the dataset and model
    cards; the herd report uses :func:`dataframe_markdown`)."""
    lines = ["| " + " | ".join(map(str, header)) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(str, row)) + " |" for row in rows]
    return "\n".join(lines)


def dataframe_markdown(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> str:
    """The same table through ``DataFrame.to_markdown`` (tabulate, columns aligned); every cell shown as its
    text, numbers not re-formatted."""
    frame = pd.DataFrame([[str(cell) for cell in row] for row in rows], columns=[str(h) for h in header])
    return frame.to_markdown(index=False, tablefmt="pipe", disable_numparse=True)
