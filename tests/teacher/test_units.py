"""Small pieces: durations, Retry-After, the adaptive limiter on token headers, identity, empties."""

from __future__ import annotations

import asyncio
import time

import pandas as pd
from conf_params import conf_block
from teacher_helpers import teacher_settings

from lamini_lm.teacher import RESULT_COLUMNS, TeacherSettings, complete
from lamini_lm.teacher.client import Limiter, parse_duration, retry_after
from lamini_lm.teacher.run import Job
from lamini_lm.teacher.tokens import count_prompt_tokens, count_tokens, request_key, truncate_tokens
from lamini_lm.teacher.transport import Reply


def test_durations_and_retry_after():
    assert parse_duration("6m0s") == 360 and parse_duration("1.5s") == 1.5 and parse_duration("20ms") == 0.02
    assert parse_duration("2") == 2.0 and parse_duration(None) is None
    assert retry_after({"retry-after-ms": "250", "retry-after": "3"}) == 0.25
    assert retry_after({"retry-after": "3"}) == 3.0 and retry_after({}) is None


def test_limiter_pauses_on_spent_token_allowance():
    limiter = Limiter(teacher_settings())
    job = Job("k", [{"role": "user", "content": "hi"}], 0.7, 100, None, 10)

    async def scenario() -> float:
        ticket = await limiter.acquire(job)
        limiter.observe({"x-ratelimit-remaining-tokens": "50", "x-ratelimit-reset-tokens": "200ms"}, ticket)
        started = time.monotonic()
        await limiter.acquire(job)  # needs 110 tokens, 50 left: waits for the reset
        return time.monotonic() - started

    assert asyncio.run(scenario()) >= 0.2


def test_request_identity_is_canonical():
    messages = [{"role": "user", "content": "Name three rivers."}]
    assert request_key("m", messages, 1, 10, None) == request_key("m", messages, 1.0, 10.0, None)
    assert request_key("m", messages, 0.7, 10, None) != request_key("m", messages, 0.0, 10, None)
    assert request_key("m", messages, 0.7, 10, None) != request_key("other", messages, 0.7, 10, None)


def test_approximate_tokens():
    assert count_tokens("Hello, world!") == 4
    assert count_prompt_tokens([{"role": "user", "content": "Hello, world!"}]) == 4 + 4 + 2
    assert truncate_tokens("one two, three four", 3) == "one two,"


def test_empty_request_table():
    out = complete(pd.DataFrame({"request_id": [], "messages": []}), teacher_settings(cache_path=None, progress=False))
    assert list(out.columns) == RESULT_COLUMNS and out.empty


def test_error_bodies_of_openai_vllm_and_plain_servers_are_read():
    openai_style = Reply(
        429, {}, b'{"error": {"message": "Slow down", "type": "requests", "code": "rate_limit_exceeded"}}'
    )
    assert openai_style.error() == ("rate_limit_exceeded", "Slow down")
    vllm_style = Reply(400, {}, b'{"object": "error", "message": "max_tokens too large", "code": 400}')
    assert vllm_style.error() == (None, "max_tokens too large")  # numeric codes are not error kinds
    assert Reply(502, {}, b"<html>Bad Gateway</html>").error() == (None, "<html>Bad Gateway</html>")
    assert Reply(503, {}, b"").error() == (None, "HTTP 503")


def test_conf_base_and_paper_teacher_settings_validate():
    base = TeacherSettings.model_validate(conf_block("teacher"))
    paper = TeacherSettings.model_validate(conf_block("teacher", env="paper"))
    assert base.replay.serve and base.base_url == "http://127.0.0.1:8765/v1"
    assert not paper.replay.serve and paper.price.input_per_million == 0.5
    assert paper.batch == base.batch  # paper overrides some keys; the soft merge keeps the rest
    assert all(field.description for field in TeacherSettings.model_fields.values())
