"""Helpers shared by the teacher tests (importable as ``teacher_helpers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from conf_params import conf_block

from lamini_lm.teacher import TeacherSettings

# Fast test settings on top of conf/base: tiny backoff, no progress bar.
FAST = {
    "progress": False,
    "max_concurrency": 8,
    "backoff_base_s": 0.01,
    "backoff_max_s": 0.05,
    "max_retries": 8,
    "timeout_s": 10,
}


def teacher_settings(**overrides: Any) -> TeacherSettings:
    """conf/base's ``teacher`` with ``overrides`` deep-merged on top."""
    return TeacherSettings.model_validate(conf_block("teacher", **overrides))


def settings_for(handle, tmp_path: Path | None, **overrides: Any) -> TeacherSettings:
    """Fast settings against the replay server ``handle``, with a cache under ``tmp_path`` (None: memory)."""
    cache_path = None if tmp_path is None else str(tmp_path / "cache.sqlite")
    return teacher_settings(**{**FAST, "base_url": handle.base_url, "cache_path": cache_path, **overrides})


def instructions(corpus, n: int, start: int = 0) -> list[str]:
    """``n`` distinct recorded LaMini instructions."""
    return corpus.pool[start : start + n]


def requests_for(texts: list[str], prefix: str = "r") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": [f"{prefix}{i}" for i in range(len(texts))],
            "messages": [[{"role": "user", "content": t}] for t in texts],
        }
    )
