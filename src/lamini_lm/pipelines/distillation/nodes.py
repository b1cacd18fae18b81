"""Requests to the teacher and the call through its one door (``lamini_lm.teacher``)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd

from lamini_lm import teacher
from lamini_lm.pipelines.distillation.params import RequestParams
from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.tokens import count_prompt_tokens

logger = logging.getLogger(__name__)

POOL_COLUMNS = ("instruction", "instruction_source")
REQUEST_COLUMNS = ("request_id", "messages", "temperature", "max_tokens", "top_p")
TOO_LONG = "prompt_too_long"


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small, acyclic objects.

    Each generation-2 pass walks every live object, so at 2.58M message lists the collector made
    building them several times slower than linear (benchmarks/distillation_scale.py).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _request_id(system_prompt: str | None, instruction: str) -> str:
    digest = hashlib.sha256(f"{system_prompt or ''}\x1f{instruction}".encode()).hexdigest()
    return f"distill-{digest[:20]}"


def _take_across_sources(pool: pd.DataFrame, limit: int) -> pd.DataFrame:
    """``limit`` rows taken in turn from each ``instruction_source`` (pool order within a source).

    The pool lists the originals first, so a plain head would never ask about generated instructions.
    """
    turn = pool.groupby("instruction_source", sort=False, dropna=False).cumcount().to_numpy()
    order = np.lexsort((np.arange(len(pool)), turn))[:limit]
    return pool.iloc[np.sort(order)]


def _too_long(texts: list[str], prefix: list[dict[str, str]], limit: int) -> list[str | None]:
    """Per text, why its prompt is not sent (more than ``limit`` prompt tokens), or None.

    A text has at most as many tokens as characters, so only texts longer than the budget are counted.
    """
    budget = limit - count_prompt_tokens(prefix)
    reasons: list[str | None] = [None] * len(texts)
    for row, text in enumerate(texts):
        if len(text) > budget:
            tokens = count_prompt_tokens([*prefix, {"role": "user", "content": text}])
            if tokens > limit:
                reasons[row] = (
                    f"prompt of {tokens} tokens ({len(text)} characters) is over "
                    f"params:distillation.requests.max_prompt_tokens ({limit}); not sent"
                )
    return reasons


def build_requests(instruction_pool: pd.DataFrame, settings: RequestParams) -> pd.DataFrame:
    """One chat request per distinct pool instruction: optional system prompt, the instruction as user.

    ``settings`` is ``params:distillation.requests``: ``system_prompt``, per-request
    ``temperature``/``max_tokens``/``top_p`` (null → ``params:teacher``'s), ``limit`` (null →
    every row; else taken in turn from each source) and ``max_prompt_tokens``. Returns ``request_id, messages, temperature, max_tokens,
    top_p``, the pool's ``instruction, instruction_source`` for cleaning and ``rejected``: why a request
    is not sent (a prompt over ``max_prompt_tokens``), null for the others. ``request_id`` is a hash of
    the prompt, so it is stable across runs.
    """
    missing = [column for column in POOL_COLUMNS if column not in instruction_pool.columns]
    if missing:
        raise KeyError(f"instruction_pool lacks column(s) {missing}; found {list(instruction_pool.columns)}.")
    if instruction_pool.empty:
        raise ValueError(
            "instruction_pool is empty: run the instruction_generation pipeline first "
            "(kedro run --pipelines=instruction_generation)."
        )
    instructions = instruction_pool["instruction"]
    blank = instructions.isna() | (instructions.astype("string").str.strip() == "")
    if blank.any():
        rows = list(instruction_pool.index[blank.to_numpy()][:5])
        raise ValueError(f"instruction_pool has {int(blank.sum())} empty instruction(s), first at row(s) {rows}.")
    pool = instruction_pool.loc[:, list(POOL_COLUMNS)].copy()
    pool["instruction"] = instructions.astype("string").str.strip()
    duplicated = pool["instruction"].duplicated(keep="first")
    if duplicated.any():
        logger.info("instruction_pool: %d repeated instruction(s) asked once.", int(duplicated.sum()))
        pool = pool[~duplicated.to_numpy()]
    if settings.limit is not None:
        pool = _take_across_sources(pool, settings.limit)
    system_prompt = settings.system_prompt or None
    prefix = [{"role": "system", "content": system_prompt}] if system_prompt else []
    texts = pool["instruction"].tolist()
    with _gc_paused():
        messages = [[*prefix, {"role": "user", "content": text}] for text in texts]
    requests = pd.DataFrame(
        {
            "request_id": [_request_id(system_prompt, text) for text in texts],
            "messages": messages,
            "temperature": settings.temperature,
            "max_tokens": settings.max_tokens,
            "top_p": settings.top_p,
            "instruction": pool["instruction"].reset_index(drop=True),
            "instruction_source": pool["instruction_source"].astype("string").reset_index(drop=True),
            "rejected": pd.array(_too_long(texts, prefix, settings.max_prompt_tokens), dtype="string"),
        }
    )
    rejected = int(requests["rejected"].notna().sum())
    if rejected:
        first = requests.loc[requests["rejected"].notna(), "request_id"].iloc[0]
        logger.warning(
            "%d instruction(s) over max_prompt_tokens (%d) will not be sent, e.g. request %s; "
            "they are logged as failed:%s.",
            rejected,
            settings.max_prompt_tokens,
            first,
            TOO_LONG,
        )
    logger.info("Built %d teacher request(s) from %d pool row(s).", len(requests), len(instruction_pool))
    return requests


def _rejected_results(requests: pd.DataFrame) -> pd.DataFrame:
    """Result rows for requests that were never sent: ``error_kind`` prompt_too_long, the reason as message."""
    n = len(requests)
    return pd.DataFrame(
        {
            "request_id": requests["request_id"].tolist(),
            "text": [None] * n,
            "finish_reason": [None] * n,
            "prompt_tokens": [0] * n,
            "completion_tokens": [0] * n,
            "cost_usd": [0.0] * n,
            "latency_s": [0.0] * n,
            "attempts": [0] * n,
            "cached": [False] * n,
            "error_kind": [TOO_LONG] * n,
            "error_message": requests["rejected"].astype(str).tolist(),
            "teacher_model": [None] * n,
        }
    )


def with_rejected(requests: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """``results`` of the sent requests plus a failed row per unsent one, in the order of ``requests``."""
    if "rejected" not in requests.columns or not requests["rejected"].notna().any():
        return results
    unsent = _rejected_results(requests[requests["rejected"].notna()])
    merged = pd.concat([results, unsent.astype({c: results[c].dtype for c in unsent.columns if c in results})])
    order = pd.Index(merged["request_id"]).get_indexer(requests["request_id"])
    return merged.iloc[order].reset_index(drop=True)


def sendable(requests: pd.DataFrame) -> pd.DataFrame:
    """The request columns of the rows that may be sent (not ``rejected``)."""
    keep = requests["rejected"].isna() if "rejected" in requests.columns else slice(None)
    return requests.loc[keep, [c for c in REQUEST_COLUMNS if c in requests.columns]]


def ask_teacher(requests: pd.DataFrame, teacher_settings: TeacherSettings) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The teacher's results for ``requests`` and the cost projection logged before sending.

    Everything behind ``lamini_lm.teacher.complete`` (cache, retries, rate limits, batch API) is
    the teacher's business; this node only projects, logs and sends. It raises when no request was
    answered (``require_answers``), so Kedro keeps the previous results.
    """
    outgoing = sendable(requests)  # prompts over max_prompt_tokens are never sent
    projection = teacher.project_cost(outgoing, teacher_settings)
    logger.info(
        "Teacher projection: %s request(s) to send (%s cached), ~%s prompt token(s), "
        "<= %s completion token(s), <= $%.4f.",
        projection.get("requests"),
        projection.get("cached"),
        projection.get("prompt_tokens"),
        projection.get("max_completion_tokens"),
        float(projection.get("projected_cost_usd") or 0.0),
    )
    results = teacher.complete(outgoing, teacher_settings)
    teacher.require_answers(results, teacher_settings, "distillation")  # else nothing is saved
    return with_rejected(requests, results), projection
