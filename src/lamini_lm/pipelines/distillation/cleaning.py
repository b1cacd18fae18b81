"""Cleaning the teacher's answers: every rejection carries a reason, nothing disappears silently.

Reasons, checked in this order (the first that applies is recorded):
``failed:<error_kind>`` (the request failed), ``empty``, ``refusal`` (a pattern from
``distillation.cleaning.refusal_patterns`` in the answer's opening), ``echo`` (the answer only
repeats the instruction), ``truncated`` (``finish_reason == "length"``: dropped, or kept and
flagged in the cleaning log, per ``distillation.cleaning.truncated``).
"""

from __future__ import annotations

import logging
import re
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from lamini_lm.pipelines.distillation.imports import PAIR_COLUMNS, arrow_strings, typed_pairs
from lamini_lm.pipelines.distillation.params import CleaningParams

logger = logging.getLogger(__name__)

RESULT_COLUMNS = ("request_id", "text", "finish_reason", "error_kind", "teacher_model")
OPTIONAL_RESULT_COLUMNS = ("error_message", "prompt_tokens", "completion_tokens", "cost_usd")
LOG_COLUMNS = ["request_id", "instruction_source", "reason", "action", "detail"]


class TeacherRunFailed(RuntimeError):
    """Every request of a teacher run failed: nothing to clean."""


def _arrow_text(values: pd.Series) -> pa.ChunkedArray:
    """The strings of ``values`` as Arrow, nulls as ""."""
    return pc.fill_null(arrow_strings(values), "")


def _normalise(array: pa.ChunkedArray) -> pa.ChunkedArray:
    """Lower-cased, each run of ASCII punctuation and white space one space (RE2, vectorised)."""
    spaced = pc.replace_substring_regex(pc.utf8_lower(array), pattern=r"[[:punct:][:space:]]+", replacement=" ")
    return pc.utf8_trim_whitespace(spaced)


def _echo_mask(instructions: pd.Series, responses: pd.Series, min_new_chars: int) -> np.ndarray:
    """Answers that contain the whole instruction and add fewer than ``min_new_chars`` characters.

    Comparison ignores case, punctuation and spacing. An answer that is *part* of the instruction
    (a label such as ``Positive.``, a corrected quote) is a real answer, not an echo. Answers longer
    than twice the instruction plus 100 characters are not examined (an echo would have to pad
    itself with that much punctuation). Lengths are compared in Arrow first, so only the few
    answers of about the instruction's length reach the Python substring test.
    """
    flags = np.zeros(len(instructions), dtype=bool)
    raw_instruction, raw_response = _arrow_text(instructions), _arrow_text(responses)
    plausible = pc.less_equal(
        pc.utf8_length(raw_response), pc.add(pc.multiply(pc.utf8_length(raw_instruction), 2), 100)
    )
    rows = np.flatnonzero(plausible.to_numpy(zero_copy_only=False))
    if len(rows) == 0:
        return flags
    take = pa.array(rows)
    instruction = _normalise(raw_instruction.take(take))
    response = _normalise(raw_response.take(take))
    letters_i = pc.utf8_length(pc.replace_substring(instruction, " ", ""))
    letters_r = pc.utf8_length(pc.replace_substring(response, " ", ""))
    close = pc.and_(
        pc.greater(letters_i, 0),
        pc.and_(pc.greater_equal(letters_r, letters_i), pc.less(pc.subtract(letters_r, letters_i), min_new_chars)),
    )
    near = np.flatnonzero(close.to_numpy(zero_copy_only=False))
    pick = pa.array(near)
    for row, inst, resp in zip(rows[near], instruction.take(pick).to_pylist(), response.take(pick).to_pylist()):
        flags[row] = inst in resp
    return flags


def _refusal_mask(texts: pd.Series, pattern: str, window: int) -> np.ndarray:
    """Answers whose first ``window`` characters match ``pattern`` (RE2 syntax, case-insensitive)."""
    opening = pc.utf8_slice_codeunits(_arrow_text(texts), 0, window)
    return pc.match_substring_regex(opening, pattern=pattern, ignore_case=True).to_numpy(zero_copy_only=False)


def _refusal_detail(texts: pd.Series, pattern: re.Pattern[str], window: int) -> list[str]:
    return [(m.group(0) if (m := pattern.search(str(t)[:window])) else "") for t in texts]


def _align(requests: pd.DataFrame, results: pd.DataFrame) -> pd.DataFrame:
    """Requests (instruction, source) beside their results; ``complete()`` keeps the order, so
    the columns are put side by side after a check, and joined on ``request_id`` otherwise."""
    columns = [c for c in RESULT_COLUMNS + OPTIONAL_RESULT_COLUMNS if c in results.columns]
    left = requests[["request_id", "instruction", "instruction_source"]]
    if len(left) == len(results) and bool(
        pc.all(pc.equal(arrow_strings(left["request_id"]), arrow_strings(results["request_id"]))).as_py()
    ):
        frame = pd.DataFrame(
            {
                **{c: left[c].reset_index(drop=True) for c in left.columns},
                **{c: results[c].reset_index(drop=True) for c in columns[1:]},
            },
            copy=False,
        )
    else:
        frame = left.merge(results[columns], on="request_id", how="left", validate="one_to_one", indicator=True)
        unanswered = frame.pop("_merge") != "both"
        if unanswered.any():
            ids = frame.loc[unanswered, "request_id"].tolist()[:5]
            raise KeyError(f"The teacher returned no result for {int(unanswered.sum())} request(s), e.g. {ids}.")
    for column in OPTIONAL_RESULT_COLUMNS:
        if column not in frame.columns:
            frame[column] = pd.NA
    return frame


def clean_teacher_answers(
    requests: pd.DataFrame, results: pd.DataFrame, settings: CleaningParams
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Kept answers as ``lamini_dataset`` rows, the log of every rejected/flagged row, and counts.

    ``settings`` is ``params:distillation.cleaning``: ``refusal_patterns`` (regexes, case
    insensitive), ``refusal_window_chars`` (how much of the answer's opening is searched),
    ``truncated`` (``drop``/``flag``), ``drop_echo``, ``echo_min_new_chars``. Raises ``TeacherRunFailed`` when
    every request failed and ``ValueError`` when nothing usable is left.
    """
    missing = [c for c in RESULT_COLUMNS if c not in results.columns]
    if missing:
        raise KeyError(f"teacher results lack column(s) {missing}; found {list(results.columns)}.")
    policy = settings.truncated
    frame = _align(requests, results)
    n = len(frame)
    if n == 0:
        raise ValueError("No teacher requests to clean.")

    reason = pd.Series(pd.NA, index=frame.index, dtype="string")
    detail = pd.Series("", index=frame.index, dtype="string")

    def mark(mask: pd.Series, label: str | pd.Series, why: pd.Series | str = "") -> None:
        new = mask & reason.isna()
        reason[new] = label[new] if isinstance(label, pd.Series) else label
        if isinstance(why, pd.Series):
            detail[new] = why[new]
        elif why:
            detail[new] = why

    failed = frame["error_kind"].notna()
    messages = (
        frame["error_message"].astype("string").fillna("").str.slice(0, 200) if "error_message" in frame.columns else ""
    )
    mark(failed, "failed:" + frame["error_kind"].astype("string"), messages)
    if failed.all():
        kinds = frame["error_kind"].value_counts().to_dict()
        first = str(frame["error_message"].iloc[0]) if "error_message" in frame.columns else ""
        raise TeacherRunFailed(
            f"Every one of the {n} teacher request(s) failed, by kind: {kinds}. First error: {first[:300]}. "
            "Check params:teacher (base_url, model, credentials) and the teacher's log; successful "
            "answers are cached, so a re-run pays only for what is missing."
        )
    text = frame["text"].astype("string").fillna("").str.strip()
    mark(~failed & (text == ""), "empty")

    patterns = settings.refusal_patterns
    window = settings.refusal_window_chars
    if patterns:
        combined = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
        refusal = pd.Series(_refusal_mask(text, combined.pattern, window), index=frame.index)
        candidates = refusal & reason.isna()
        why = pd.Series("", index=frame.index, dtype="string")
        why[candidates] = _refusal_detail(text[candidates], combined, window)
        mark(refusal, "refusal", why)

    if settings.drop_echo:
        echo = pd.Series(_echo_mask(frame["instruction"], text, settings.echo_min_new_chars), index=frame.index)
        mark(echo, "echo")

    truncated = (frame["finish_reason"].astype("string") == "length").fillna(False) & reason.isna()
    mark(truncated, "truncated", "finish_reason=length")

    action = pd.Series("dropped", index=frame.index, dtype="string")
    if policy == "flag":
        action[reason == "truncated"] = "flagged"
    rejected = reason.notna()
    log = pd.DataFrame(
        {
            "request_id": frame["request_id"].astype("string"),
            "instruction_source": frame["instruction_source"].astype("string"),
            "reason": reason,
            "action": action,
            "detail": detail,
        }
    )[rejected.to_numpy()].reset_index(drop=True)
    keep = ~rejected | (action == "flagged")
    keep_rows = keep.to_numpy()
    kept = pd.DataFrame(
        {column: (text if column == "response" else frame[column])[keep_rows] for column in PAIR_COLUMNS}
    )
    report = {
        "requests": n,
        "kept": int(keep.sum()),
        "dropped": int((rejected & (action == "dropped")).sum()),
        "dropped_by_reason": log.loc[log["action"] == "dropped", "reason"].value_counts().to_dict(),
        "flagged_by_reason": log.loc[log["action"] == "flagged", "reason"].value_counts().to_dict(),
        "kept_by_source": kept["instruction_source"].value_counts().to_dict(),
        "truncated_policy": policy,
    }
    report = {k: ({str(a): int(b) for a, b in v.items()} if isinstance(v, dict) else v) for k, v in report.items()}
    if report["dropped"]:  # each drop and its reason is in the cleaning log
        logger.info(
            "Cleaning: kept %d of %d teacher answer(s); dropped %s; flagged %s.",
            report["kept"],
            n,
            report["dropped_by_reason"],
            report["flagged_by_reason"],
        )
    else:
        logger.info("Cleaning: kept all %d teacher answer(s); flagged %s.", n, report["flagged_by_reason"])
    if kept.empty:
        raise ValueError(
            f"Cleaning left no teacher answers out of {n}: dropped by reason {report['dropped_by_reason']}. "
            "Check 'distillation.cleaning' (refusal_patterns, truncated) and the teacher's max_tokens."
        )
    return typed_pairs(kept), log, report
