"""Requests to the teacher and the call through its one door (``lamini_lm.teacher``)."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
from collections.abc import Iterator
from typing import Any

import pandas as pd

from lamini_lm import teacher
from lamini_lm.pipelines.distillation.params import RequestParams
from lamini_lm.teacher.config import TeacherSettings

logger = logging.getLogger(__name__)

POOL_COLUMNS = ("instruction", "instruction_source")
REQUEST_COLUMNS = ("request_id", "messages", "temperature", "max_tokens", "top_p")


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


def build_requests(instruction_pool: pd.DataFrame, settings: RequestParams) -> pd.DataFrame:
    """One chat request per distinct pool instruction: optional system prompt, the instruction as user.

    ``settings`` is ``params:distillation.requests``: ``system_prompt``, per-request
    ``temperature``/``max_tokens``/``top_p`` (null → ``params:teacher``'s) and ``limit`` (null →
    every row). Returns ``request_id, messages, temperature, max_tokens, top_p`` and the pool's
    ``instruction, instruction_source`` for cleaning. ``request_id`` is a hash of the prompt, so it
    is stable across runs.
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
        pool = pool.head(settings.limit)
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
        }
    )
    logger.info("Built %d teacher request(s) from %d pool row(s).", len(requests), len(instruction_pool))
    return requests


def ask_teacher(requests: pd.DataFrame, teacher_settings: TeacherSettings) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The teacher's results for ``requests`` and the cost projection logged before sending.

    Everything behind ``lamini_lm.teacher.complete`` (cache, retries, rate limits, batch API) is
    the teacher's business; this node only projects, logs and sends. It raises when no request was
    answered (``require_answers``), so Kedro keeps the previous results.
    """
    outgoing = requests.loc[:, [c for c in REQUEST_COLUMNS if c in requests.columns]]
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
    return results, projection
