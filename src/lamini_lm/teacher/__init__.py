"""The one door to a teacher LLM: ``complete(requests, TeacherSettings)`` → a table of results.

Backends: ``openai`` (any OpenAI-compatible endpoint), ``openai_batch`` (the Batch API),
``transformers`` (a local causal LM). Through the same endpoint, key and cache:
``moderate(texts, TeacherSettings, model=..., batch_size=...)`` (``/v1/moderations``). See docs/teacher.md.
"""

from lamini_lm.teacher.config import TeacherSettings, load_settings
from lamini_lm.teacher.core import complete, project_cost, require_answers
from lamini_lm.teacher.credentials import register_api_key
from lamini_lm.teacher.moderation import MODERATION_COLUMNS, moderate, moderation_key
from lamini_lm.teacher.run import (
    RESULT_COLUMNS,
    AllRequestsFailed,
    TeacherAuthError,
    TeacherDryRun,
    TeacherQuotaError,
    TeacherUnavailable,
    TeacherUnreachableError,
)

__all__ = [
    "MODERATION_COLUMNS",
    "RESULT_COLUMNS",
    "AllRequestsFailed",
    "TeacherAuthError",
    "TeacherDryRun",
    "TeacherQuotaError",
    "TeacherSettings",
    "TeacherUnavailable",
    "TeacherUnreachableError",
    "complete",
    "load_settings",
    "moderate",
    "moderation_key",
    "project_cost",
    "register_api_key",
    "require_answers",
]
