"""Report a status instead of failing: one broken checkpoint, task file or judge does not stop the herd.

Every evaluation node returns its result with a ``status``: a :class:`Status` value (``ok``,
``judged``, ``no data``, ...), optionally with a detail (``not scored (no toxicity classifier
configured)``, ``checkpoint failed to load: OSError: ...``). Frames carry it as a ``status`` column
(it survives parquet, unlike ``attrs``) all the way to the herd report.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from typing import Any

import pandas as pd

from lamini_lm.pipelines.evaluation.params import GenerationParams

logger = logging.getLogger(__name__)


class Status(StrEnum):
    """What became of one measurement; the value is the text summaries and the report show."""

    OK = "ok"
    JUDGED = "judged"
    PUBLISHED = "published"
    NO_DATA = "no data"
    SKIPPED = "skipped"
    ERROR = "error"
    NO_ROWS = "no rows"
    NOT_SCORED = "not scored"
    NOT_JUDGED = "not judged"
    CHECKPOINT_FAILED = "checkpoint failed to load"
    NOT_A_STUDENT = "checkpoint is not a Student"
    GENERATION_FAILED = "generation failed"

    def because(self, detail: object) -> str:
        """``"<status> (<detail>)"``, e.g. ``not scored (no toxicity classifier configured)``."""
        return f"{self.value} ({detail})"

    def prefix(self, text: object) -> str:
        """``"<status>: <text>"``, e.g. ``checkpoint failed to load: OSError: no config.json``."""
        return f"{self.value}: {text}"

    @classmethod
    def of(cls, text: str | None) -> Status:
        """The status a status text starts with (:attr:`ERROR` for any other text)."""
        text = text or ""
        for status in sorted(cls, key=lambda s: -len(s.value)):
            if text == status.value or text.startswith((f"{status.value} (", f"{status.value}:")):
                return status
        return cls.ERROR


MEASURED = frozenset({Status.OK, Status.JUDGED, Status.PUBLISHED})
NO_LIVE_JUDGE = Status.NOT_JUDGED.because("no live judge")
# A judgement whose every reply (1 + judge.max_retries) failed to parse: counted in no share, never as 0 %.
UNPARSABLE = Status.NOT_JUDGED.because("unparsable")


def student_problem(student: Any) -> str | None:
    """Why ``student`` cannot be evaluated (a failed load, a wrong object), or None."""
    if isinstance(student, BaseException):
        where, failed, reason = str(student).partition(" failed to load: ")
        if (
            failed
        ):  # a CheckpointLoadError: "<where> failed to load: <reason>" → "... failed to load: <reason> (<where>)"
            return Status.CHECKPOINT_FAILED.prefix(f"{reason} ({where})")
        return Status.CHECKPOINT_FAILED.prefix(f"{type(student).__name__}: {student}")
    for attribute in ("name", "family", "model", "tokenizer", "generate"):
        if not hasattr(student, attribute):
            return Status.NOT_A_STUDENT.because(f"no '{attribute}'") + f": got {type(student).__name__}"
    return None


def answers_or_problem(
    student: Any, prompts: list[str], generation: GenerationParams, what: str
) -> tuple[list[str] | None, str | None]:
    """(answers, None) or (None, reason): ``Student.generate`` on ``prompts``; a failure is this model's only."""
    problem = student_problem(student)
    if problem:
        return None, problem
    try:
        return student.generate(prompts, progress=f"{student.name}: {what}", **generation.model_dump()), None
    except Exception as err:  # noqa: BLE001 - reported per model, the herd goes on
        logger.exception("%s: generation for %s failed", getattr(student, "name", "?"), what)
        return None, Status.GENERATION_FAILED.prefix(f"{type(err).__name__}: {err}")


def failed_frame(columns: list[str], status: str) -> pd.DataFrame:
    """One placeholder row carrying ``status``: the reason travels through parquet to the report."""
    return pd.DataFrame([{**{c: None for c in columns}, "status": str(status)}])


def with_status(frame: pd.DataFrame, status: str) -> pd.DataFrame:
    """``frame`` with a run-level ``status`` column."""
    return frame.assign(status=str(status))


def frame_status(frame: pd.DataFrame) -> str:
    """The status a frame carries (:attr:`Status.NO_ROWS` for an empty one)."""
    if "status" in frame.columns and len(frame):
        return str(frame["status"].iloc[0])
    return Status.NO_ROWS.value
