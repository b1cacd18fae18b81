"""The one door to a teacher LLM: ``complete(requests, TeacherSettings)`` → a table of results.

Backends: ``openai`` (any OpenAI-compatible endpoint), ``openai_batch`` (the Batch API),
``transformers`` (a local causal LM). Through the same endpoint, key and cache:
``moderate(texts, TeacherSettings, model=..., batch_size=...)`` (``/v1/moderations``). See docs/teacher.md.
"""

from lamini_lm.teacher.config import TeacherSettings, load_settings
from lamini_lm.teacher.core import complete, project_cost
from lamini_lm.teacher.credentials import register_api_key
from lamini_lm.teacher.moderation import MODERATION_COLUMNS, TeacherUnreachableError, moderate, moderation_key
from lamini_lm.teacher.run import RESULT_COLUMNS, TeacherAuthError, TeacherQuotaError

__all__ = [
    "MODERATION_COLUMNS",
    "RESULT_COLUMNS",
    "TeacherAuthError",
    "TeacherQuotaError",
    "TeacherSettings",
    "TeacherUnreachableError",
    "complete",
    "load_settings",
    "moderate",
    "moderation_key",
    "project_cost",
    "register_api_key",
]
