"""The one door to a teacher LLM: ``complete(requests, TeacherSettings)`` → a table of results.

Backends: ``openai`` (any OpenAI-compatible endpoint), ``openai_batch`` (the Batch API),
``transformers`` (a local causal LM). See docs/teacher.md.
"""

from lamini_lm.teacher.config import TeacherSettings, load_settings
from lamini_lm.teacher.core import complete, project_cost
from lamini_lm.teacher.credentials import register_api_key
from lamini_lm.teacher.run import RESULT_COLUMNS, TeacherAuthError, TeacherQuotaError

__all__ = [
    "RESULT_COLUMNS",
    "TeacherAuthError",
    "TeacherQuotaError",
    "TeacherSettings",
    "complete",
    "load_settings",
    "project_cost",
    "register_api_key",
]
