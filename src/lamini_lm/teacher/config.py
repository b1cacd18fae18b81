"""Teacher settings (``params:teacher``), validated before anything is sent.

The API key is deliberately absent: it comes from Kedro credentials or ``OPENAI_API_KEY``
(see :mod:`lamini_lm.teacher.credentials`).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Price(_Strict):
    """USD per million tokens; the Batch API is billed at ``batch_discount`` of that."""

    input_per_million: float = Field(0.0, ge=0)
    output_per_million: float = Field(0.0, ge=0)
    batch_discount: float = Field(0.5, gt=0, le=1)


class Faults(_Strict):
    """Fault-injection rates of the replay teacher (each a probability per request)."""

    rate_429: float = Field(0.0, ge=0, le=1)
    rate_500: float = Field(0.0, ge=0, le=1)
    rate_timeout: float = Field(0.0, ge=0, le=1)
    rate_drop: float = Field(0.0, ge=0, le=1)
    rate_malformed: float = Field(0.0, ge=0, le=1)
    rate_length: float = Field(0.0, ge=0, le=1)
    retry_after_s: float = Field(1.0, ge=0)
    timeout_sleep_s: float = Field(120.0, ge=0)


class ReplaySettings(_Strict):
    """The replay teacher: an OpenAI-compatible server answering from recorded real outputs."""

    serve: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8765, ge=0, le=65535)
    lamini_path: str | None = "data/01_raw/distilled/lamini/lamini_instruction_10k_fmengine.jsonl"
    alpaca_path: str | None = "data/01_raw/distilled/alpaca/alpaca_data_first1727_text-davinci-003.json"
    p3_path: str | None = "data/01_raw/sources/p3/t0_train_sample.jsonl"
    seeds_path: str | None = "data/01_raw/seeds/self_instruct_seed_tasks.jsonl"
    latency_ms: float = Field(0.0, ge=0)
    seed: int = 0
    faults: Faults = Faults()


class BatchSettings(_Strict):
    """The OpenAI Batch API backend."""

    completion_window: str = "24h"
    poll_interval_s: float = Field(30.0, gt=0)
    poll_max_interval_s: float = Field(600.0, gt=0)
    max_wait_s: float = Field(26 * 3600.0, gt=0)
    max_rounds: int = Field(3, ge=1)
    max_requests_per_batch: int = Field(50_000, ge=1, le=50_000)


class LocalSettings(_Strict):
    """The ``transformers`` backend (a local causal LM: hub id or path)."""

    device: str = "cpu"
    batch_size: int = Field(8, ge=1)
    torch_dtype: str = "auto"


class TeacherSettings(_Strict):
    """Everything ``complete()`` needs except the API key."""

    backend: Literal["openai", "openai_batch", "transformers"] = "openai"
    model: str = "gpt-3.5-turbo"
    base_url: str | None = None
    transport: Literal["aiohttp", "sdk"] = "aiohttp"
    max_concurrency: int = Field(16, ge=1)
    client_processes: int = Field(1, ge=1, le=64)
    requests_per_minute: float | None = Field(None, gt=0)
    tokens_per_minute: float | None = Field(None, gt=0)
    timeout_s: float = Field(60.0, gt=0)
    max_retries: int = Field(6, ge=0)
    backoff_base_s: float = Field(1.0, ge=0)
    backoff_max_s: float = Field(60.0, ge=0)
    temperature: float = Field(0.7, ge=0)
    max_tokens: int = Field(512, ge=1)
    top_p: float | None = Field(None, gt=0, le=1)
    price: Price = Price()
    max_cost_usd: float | None = Field(None, ge=0)
    dry_run: bool = False
    cache_path: str | None = "data/02_intermediate/teacher_cache.sqlite"
    progress: bool = True
    batch: BatchSettings = BatchSettings()
    local: LocalSettings = LocalSettings()
    replay: ReplaySettings = ReplaySettings()


# Replay servers this process started for runs: configured replay port -> their base URLs (newest last).
_SERVED_REPLAY: dict[int, list[str]] = {}


def serve_replay_at(port: int, base_url: str, serving: bool = True) -> None:
    """Route ``replay.serve`` settings configured for ``port`` to ``base_url`` (or stop routing there)."""
    urls = _SERVED_REPLAY.setdefault(port, [])
    if serving:
        urls.append(base_url)
    elif base_url in urls:
        urls.remove(base_url)


def _routed(settings: TeacherSettings) -> TeacherSettings:
    """With ``replay.serve`` the teacher is the replay server this run started, wherever it listens."""
    urls = _SERVED_REPLAY.get(settings.replay.port) if settings.replay.serve else None
    url = urls[-1] if urls else None
    return settings if url is None or url == settings.base_url else settings.model_copy(update={"base_url": url})


def load_settings(teacher_settings: TeacherSettings | dict[str, Any] | None) -> TeacherSettings:
    """Validate ``params:teacher``; a bad value raises ``ValueError`` naming the key."""
    if isinstance(teacher_settings, TeacherSettings):
        return _routed(teacher_settings)
    raw = dict(teacher_settings or {})
    if any(k in raw for k in ("api_key", "openai_api_key")):
        raise ValueError(
            "params:teacher must not hold an API key: put it in conf/local/credentials.yml "
            "(openai.api_key) or export OPENAI_API_KEY."
        )
    try:
        return _routed(TeacherSettings.model_validate(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"params:teacher.{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise ValueError(f"Invalid teacher settings — {problems}") from None
