"""Teacher settings (``params:teacher``), validated before anything is sent.

Every value comes from conf/ (``conf/base/parameters_teacher.yml``, overridden per environment):
the models below hold no defaults of their own. The API key is deliberately absent: it comes from
Kedro credentials or ``OPENAI_API_KEY`` (see :mod:`lamini_lm.teacher.credentials`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

NO_KEY_IN_PARAMETERS = (
    "params:teacher must not hold an API key: put it in conf/local/credentials.yml "
    "(openai.api_key) or export OPENAI_API_KEY."
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Strict):
    """USD per million tokens; the Batch API is billed at ``batch_discount`` of that."""

    input_per_million: float = Field(ge=0, description="USD per million prompt tokens.")
    output_per_million: float = Field(ge=0, description="USD per million completion tokens.")
    batch_discount: float = Field(gt=0, le=1, description="Price factor of the Batch API (``openai_batch``).")


class Faults(_Strict):
    """Fault-injection rates of the replay teacher (each a probability per request)."""

    rate_429: float = Field(ge=0, le=1, description="Share of requests answered 429 with a Retry-After.")
    rate_500: float = Field(ge=0, le=1, description="Share of requests answered 500.")
    rate_timeout: float = Field(ge=0, le=1, description="Share of requests held ``timeout_sleep_s`` then 504.")
    rate_drop: float = Field(ge=0, le=1, description="Share of requests whose connection is aborted.")
    rate_malformed: float = Field(ge=0, le=1, description="Share of requests answered with truncated JSON.")
    rate_length: float = Field(ge=0, le=1, description="Share of answers cut in half with finish_reason=length.")
    retry_after_s: float = Field(ge=0, description="Retry-After (seconds) sent with an injected 429.")
    timeout_sleep_s: float = Field(ge=0, description="How long an injected timeout holds the request (seconds).")


class ReplaySettings(_Strict):
    """The replay teacher: an OpenAI-compatible server answering from recorded real outputs."""

    serve: bool = Field(description="Serve the replay teacher during a `kedro run` that uses params:teacher.")
    host: str = Field(description="Interface the replay server binds.")
    port: int = Field(ge=0, le=65535, description="Port of the replay server (a free one if it is taken).")
    lamini_path: str | None = Field(description="LaMini-instruction JSONL (gpt-3.5-turbo answers); null: none.")
    alpaca_path: str | None = Field(description="Alpaca JSON (text-davinci-003 answers); null: none.")
    p3_path: str | None = Field(description="P3 sample JSONL (dataset targets); null: none.")
    seeds_path: str | None = Field(description="Self-Instruct seed tasks JSONL (human answers); null: none.")
    latency_ms: float = Field(ge=0, description="Delay added to every chat answer (milliseconds).")
    seed: int = Field(description="Seed of fault draws and of generated instruction lists.")
    faults: Faults = Field(description="Fault injection.")


class BatchSettings(_Strict):
    """The OpenAI Batch API backend."""

    completion_window: str = Field(description="Batch completion window sent to the API (e.g. 24h).")
    poll_interval_s: float = Field(gt=0, description="First wait between polls (seconds; grows ×1.5).")
    poll_max_interval_s: float = Field(gt=0, description="Longest wait between polls (seconds).")
    max_wait_s: float = Field(gt=0, description="Stop polling after this long; the batch stays recorded.")
    max_rounds: int = Field(ge=1, description="Submissions per request (retryable failures are resubmitted).")
    max_requests_per_batch: int = Field(ge=1, le=50_000, description="Requests per uploaded batch file.")


class LocalSettings(_Strict):
    """The ``transformers`` backend (a local causal LM: hub id or path)."""

    device: str = Field(description="Torch device of the local model (cpu, cuda, cuda:1, ...).")
    batch_size: int = Field(ge=1, description="Prompts per generate() call.")
    torch_dtype: str = Field(description="dtype passed to from_pretrained (auto, float32, bfloat16, ...).")
    path: str | None = Field(
        default=None,
        description="Folder or hub id to load; null: teacher.model. Set it to keep teacher.model as the results' label.",
    )


class TeacherSettings(_Strict):
    """Everything ``complete()`` needs except the API key."""

    backend: Literal["openai", "openai_batch", "transformers"] = Field(
        description="openai (any OpenAI-compatible endpoint), openai_batch (the Batch API) or transformers (local)."
    )
    model: str = Field(description="Model name sent to the endpoint; hub id or path for transformers.")
    base_url: str | None = Field(description="The endpoint (null: OpenAI, or OPENAI_BASE_URL).")
    transport: Literal["aiohttp", "sdk"] = Field(
        description="aiohttp: the AsyncOpenAI client's URL and headers over one aiohttp session; sdk: AsyncOpenAI."
    )
    max_concurrency: int = Field(ge=1, description="Requests in flight.")
    client_processes: int = Field(ge=1, le=64, description="openai backend: worker processes sharing the work.")
    requests_per_minute: float | None = Field(gt=0, description="Client-side request bucket; null: no cap.")
    tokens_per_minute: float | None = Field(gt=0, description="Client-side token bucket; null: no cap.")
    timeout_s: float = Field(gt=0, description="Timeout of one attempt (seconds).")
    max_retries: int = Field(ge=0, description="Retries after the first attempt of a request.")
    backoff_base_s: float = Field(ge=0, description="First backoff ceiling (seconds; doubles, full jitter).")
    backoff_max_s: float = Field(ge=0, description="Largest backoff ceiling (seconds).")
    temperature: float = Field(ge=0, description="Temperature of rows that do not set one.")
    max_tokens: int = Field(ge=1, description="max_tokens of rows that do not set it.")
    top_p: float | None = Field(gt=0, le=1, description="top_p of rows that do not set it; null: not sent.")
    price: Price = Field(description="Prices used for projections, budgets and result costs.")
    max_cost_usd: float | None = Field(ge=0, description="Hard cap on new spending of one call; null: none.")
    drain_timeout_s: float = Field(
        ge=0,
        description="On the first Ctrl-C or SIGTERM: send nothing new and wait up to this long (seconds) for the "
        "requests in flight, committing their answers, before stopping; a second signal stops at once.",
    )
    fail_fast_after: int | None = Field(
        ge=1,
        description="Stop when the first this-many requests to finish all failed the same way and nothing was "
        "answered yet (neither cached nor sent); null: never. A refused connection stops at once.",
    )
    dry_run: bool = Field(
        description="Project and log the cost, send nothing; a `kedro run` stops after the first teacher step."
    )
    cache_path: str | None = Field(description="SQLite request cache; null: in memory, this call only.")
    progress: bool = Field(description="Show a progress bar.")
    batch: BatchSettings = Field(description="The openai_batch backend.")
    local: LocalSettings = Field(description="The transformers backend.")
    replay: ReplaySettings = Field(description="The replay teacher.")

    @model_validator(mode="before")
    @classmethod
    def _no_api_key(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and any(k in data for k in ("api_key", "openai_api_key")):
            raise ValueError(NO_KEY_IN_PARAMETERS)
        return data


def load_settings(teacher_settings: TeacherSettings | Mapping[str, Any]) -> TeacherSettings:
    """``params:teacher`` as :class:`TeacherSettings`; a bad or missing value raises ``ValueError`` naming the key."""
    if isinstance(teacher_settings, TeacherSettings):
        return teacher_settings
    if not isinstance(teacher_settings, Mapping):
        raise TypeError(f"params:teacher must be a mapping or TeacherSettings, got {type(teacher_settings).__name__}.")
    if any(k in teacher_settings for k in ("api_key", "openai_api_key")):
        raise ValueError(NO_KEY_IN_PARAMETERS)
    try:
        return TeacherSettings.model_validate(dict(teacher_settings))
    except ValidationError as exc:
        problems = "; ".join(
            f"params:teacher.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"Invalid teacher settings — {problems}") from None
