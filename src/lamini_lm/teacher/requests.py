"""The request table in: one :class:`~lamini_lm.teacher.run.Job` per row, checked and keyed by content.

Columns: ``request_id`` (unique) and ``messages`` (a list of ``{"role", "content"}``); optional
per-row ``temperature``, ``max_tokens`` and ``top_p`` (null: the settings' value).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.run import Job
from lamini_lm.teacher.tokens import count_prompt_tokens, request_key

SAMPLING_COLUMNS = ("temperature", "max_tokens", "top_p")


def _opt(value: Any, cast: type) -> Any:
    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return cast(value)


def _messages(value: Any, request_id: str) -> list[dict[str, str]]:
    if isinstance(value, (str, bytes, Mapping)) or not (isinstance(value, Sequence) or hasattr(value, "tolist")):
        raise ValueError(f"Request {request_id!r}: 'messages' must be a list of {{'role', 'content'}} dicts.")
    items = value.tolist() if hasattr(value, "tolist") else list(value)
    if not items:
        raise ValueError(f"Request {request_id!r}: 'messages' is empty.")
    out = []
    for i, message in enumerate(items):
        if not isinstance(message, Mapping) or "role" not in message or "content" not in message:
            raise ValueError(f"Request {request_id!r}: messages[{i}] must be a dict with 'role' and 'content'.")
        out.append({"role": str(message["role"]), "content": str(message["content"])})
    return out


def parse_requests(requests: pd.DataFrame, settings: TeacherSettings) -> tuple[list[str], list[Job]]:
    """Request ids in order and one job per row (rows with equal content share a key)."""
    if not isinstance(requests, pd.DataFrame):
        raise TypeError(f"complete() takes a DataFrame of requests, got {type(requests).__name__}.")
    missing = [c for c in ("request_id", "messages") if c not in requests.columns]
    if missing:
        raise ValueError(f"Teacher requests lack column(s) {missing}; expected 'request_id' and 'messages'.")
    ids = [str(i) for i in requests["request_id"]]
    dupes = sorted({i for i in ids if ids.count(i) > 1}) if len(set(ids)) != len(ids) else []
    if dupes:
        raise ValueError(f"Teacher requests: request_id must be unique; repeated: {dupes[:5]}.")
    columns = {c: requests[c].tolist() if c in requests.columns else [None] * len(ids) for c in SAMPLING_COLUMNS}
    jobs = []
    for row, (request_id, messages) in enumerate(zip(ids, requests["messages"].tolist())):
        msgs = _messages(messages, request_id)
        temperature = _opt(columns["temperature"][row], float)
        max_tokens = _opt(columns["max_tokens"][row], int)
        top_p = _opt(columns["top_p"][row], float)
        temperature = settings.temperature if temperature is None else temperature
        max_tokens = settings.max_tokens if max_tokens is None else max_tokens
        top_p = settings.top_p if top_p is None else top_p
        key = request_key(settings.model, msgs, temperature, max_tokens, top_p)
        jobs.append(Job(key, msgs, temperature, max_tokens, top_p, count_prompt_tokens(msgs)))
    return ids, jobs


def unique_jobs(jobs: list[Job]) -> list[Job]:
    """One job per content key, in first-seen order."""
    return list({job.key: job for job in jobs}.values())
