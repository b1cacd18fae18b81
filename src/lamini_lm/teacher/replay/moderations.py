"""What the replay teacher answers at ``/v1/moderations``: recorded verdicts, never a classification.

The bundled set (``moderation_synthetic.json`` beside this module) is **synthetic**: a few
hand-written texts with hand-set scores, there to test the moderation door — they are not the
OpenAI Moderation API's verdicts, and replies carry ``model: replay:synthetic-moderation``. A test
adds its own with ``serve(moderations={text: {"flagged": ..., "category_scores": {...}}})``. A
request holding any text outside the set is refused whole (HTTP 404, code
``cannot_moderate_unseen_text``): the replay teacher cannot moderate unseen text.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from lamini_lm.teacher.tokens import normalise

RECORDED_PATH = Path(__file__).with_name("moderation_synthetic.json")
MODEL_NAME = "replay:synthetic-moderation"
FLAG_AT = 0.5  # a recorded category is flagged when its score is at least this (the file's categories_rule)
UNSEEN_TEXT_MESSAGE = (
    "the replay teacher cannot moderate unseen text: it holds recorded (synthetic) verdicts for a few fixed "
    "texts only, and {missing} of the {total} inputs are not among them. Point teacher.base_url at a real "
    "moderation endpoint (OpenAI: https://api.openai.com/v1) to moderate new text."
)


def verdict(flagged: bool, category_scores: Mapping[str, float]) -> dict[str, Any]:
    """A moderation result: ``flagged``, ``categories`` (score >= :data:`FLAG_AT`) and ``category_scores``."""
    scores = {str(k): float(v) for k, v in category_scores.items()}
    return {
        "flagged": bool(flagged),
        "categories": {k: v >= FLAG_AT for k, v in scores.items()},
        "category_scores": scores,
    }


@lru_cache(maxsize=4)
def load_recorded(path: Path = RECORDED_PATH) -> dict[str, dict[str, Any]]:
    """Normalised text → verdict, from a file shaped like ``moderation_synthetic.json``."""
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
        return {
            normalise(entry["input"]): verdict(entry["flagged"], entry["category_scores"])
            for entry in document["verdicts"]
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"Recorded moderation verdicts {path} cannot be read ({type(exc).__name__}: {exc}).") from exc


class Moderations:
    """The recorded verdicts (a test's ``extra`` first), answering ``/v1/moderations`` bodies."""

    def __init__(self, extra: Mapping[str, Mapping[str, Any]] | None = None):
        self.verdicts = dict(load_recorded())
        for text, given in (extra or {}).items():
            self.verdicts[normalise(text)] = verdict(given["flagged"], given.get("category_scores") or {})

    @staticmethod
    def inputs(body: Any) -> list[str]:
        """The texts of a request body (``input``: a string or a list of strings); ``ValueError`` otherwise."""
        value = body.get("input") if isinstance(body, dict) else None
        texts = [value] if isinstance(value, str) else value
        if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
            raise ValueError("'input' must be a string or a non-empty list of strings")
        return texts

    def unseen(self, texts: list[str]) -> int:
        """How many of ``texts`` have no recorded verdict."""
        return sum(normalise(t) not in self.verdicts for t in texts)

    def answer(self, texts: list[str]) -> dict[str, Any]:
        """The ``/v1/moderations`` response for ``texts`` (every one of them recorded)."""
        return {
            "id": f"modr-replay-{uuid.uuid4().hex[:20]}",
            "model": MODEL_NAME,
            "results": [self.verdicts[normalise(t)] for t in texts],
        }
