"""Turning a teacher's reply into a list of instructions, whatever list format it chose."""

from __future__ import annotations

import re

_OPEN, _CLOSE = "<example>", "</example>"
_NUMBERED = re.compile(r"^\s*(?:\(?\d{1,3}[.):]|#\d{1,3}[.:)]?)\s+")
_BULLET = re.compile(r"^\s*[-*•‣▪]\s+")
_LABEL = re.compile(r"^(?:instruction|example|question|task)\s*\d*\s*:\s*", re.IGNORECASE)


def _clean(item: str) -> str:
    item = _LABEL.sub("", item.strip())
    if len(item) >= 2 and item[0] == item[-1] and item[0] in "\"'":
        item = item[1:-1].strip()
    return item


def _tagged(text: str) -> list[str]:
    items = []
    for chunk in text.split(_OPEN)[1:]:
        items.append(chunk.split(_CLOSE, 1)[0])
    return items


def _listed(text: str) -> list[str]:
    """Numbered or bulleted items; lines that start no item continue the one before (multi-line)."""
    items: list[list[str]] = []
    for line in text.splitlines():
        marker = _NUMBERED.match(line) or _BULLET.match(line)
        if marker:
            items.append([line[marker.end() :]])
        elif items and line.strip():
            items[-1].append(line.strip())
        elif items and not line.strip():
            items[-1].append("")
    return ["\n".join(lines).strip() for lines in items]


def parse_instructions(text: str | None, finish_reason: str | None = None) -> tuple[list[str], str | None]:
    """The instructions in ``text`` and, if the reply was cut off (``finish_reason="length"``),
    the last item, which is dropped because it may be incomplete.

    Accepts ``<example>…</example>`` tags (an unclosed last tag too), numbered lists (``1.``,
    ``1)``, ``(1)``, ``#1``), bulleted lists and items spanning several lines. A reply with none of
    these (a refusal, prose) parses to nothing.
    """
    if not text or not text.strip():
        return [], None
    raw = _tagged(text) if _OPEN in text else _listed(text)
    items = [item for item in (_clean(raw_item) for raw_item in raw) if item]
    dropped = None
    if finish_reason == "length" and items:
        dropped = items.pop()
    return items, dropped
