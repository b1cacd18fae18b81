"""The ``openai`` backend against the replay teacher: faults, limits, budget, dry run, 401."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from conf_params import conf_block
from pydantic import ValidationError
from teacher_helpers import instructions, requests_for, settings_for, teacher_settings

from lamini_lm.teacher import (
    TeacherAuthError,
    TeacherQuotaError,
    TeacherSettings,
    complete,
    project_cost,
    register_api_key,
)
from lamini_lm.teacher.tokens import request_key

TRANSPORTS = pytest.mark.parametrize("transport", ["aiohttp", "sdk"])


def _keys(texts, settings):
    return [
        request_key(
            settings.model,
            [{"role": "user", "content": t}],
            settings.temperature,
            settings.max_tokens,
            settings.top_p,
        )
        for t in texts
    ]


@pytest.mark.parametrize(
    ("fault", "extra"),
    [
        ("rate_500", {}),
        ("rate_drop", {}),
        ("rate_malformed", {}),
        ("rate_timeout", {"timeout_s": 0.3}),
    ],
)
@TRANSPORTS
def test_retryable_faults_recover_exactly_once(replay, corpus, tmp_path, fault, extra, transport):
    replay.set_faults(**{fault: 0.3}, timeout_sleep_s=5)
    texts = instructions(corpus, 24)
    settings = settings_for(replay, tmp_path, transport=transport, **extra)
    out = complete(requests_for(texts), settings)
    assert out["error_kind"].isna().all(), out["error_kind"].value_counts()
    name = {"rate_500": "500", "rate_drop": "drop", "rate_malformed": "malformed", "rate_timeout": "timeout"}[fault]
    assert replay.stats[f"fault_{name}"] > 0
    assert out["attempts"].max() > 1
    keys = _keys(texts, settings)
    assert all(replay.answered[k] == 1 for k in keys)  # each answered successfully exactly once
    assert sum(replay.received[k] for k in keys) == out["attempts"].sum()


def test_429_honours_retry_after(replay, corpus, tmp_path):
    replay.set_faults(rate_429=0.4, retry_after_s=0.15)
    settings = settings_for(replay, tmp_path, backoff_base_s=0.0, backoff_max_s=0.0)
    out = complete(requests_for(instructions(corpus, 16)), settings)
    assert out["error_kind"].isna().all()
    retried = out[out["attempts"] > 1]
    assert replay.stats["fault_429"] > 0 and len(retried) > 0
    # Each 429 made that request wait at least Retry-After (backoff itself is zero here).
    assert (retried["latency_s"] >= 0.15 * (retried["attempts"] - 1) - 0.01).all()


def test_retries_are_bounded_and_recorded(replay, corpus, tmp_path):
    replay.set_faults(rate_500=1.0)
    out = complete(requests_for(instructions(corpus, 3)), settings_for(replay, tmp_path, max_retries=2))
    assert (out["error_kind"] == "server_error").all()
    assert (out["attempts"] == 3).all() and replay.stats["requests"] == 9
    assert out["text"].isna().all()


def test_length_finish_reason_and_max_tokens(replay, corpus, tmp_path):
    texts = instructions(corpus, 4)
    full = complete(requests_for(texts), settings_for(replay, None))
    replay.set_faults(rate_length=1.0)
    cut = complete(requests_for(texts), settings_for(replay, None, temperature=0.0))
    assert (cut["finish_reason"] == "length").all() and cut["error_kind"].isna().all()
    assert (cut["completion_tokens"] < full["completion_tokens"]).all()
    replay.set_faults(rate_length=0.0)
    short = complete(requests_for(texts), settings_for(replay, None, max_tokens=3))
    assert (short["finish_reason"] == "length").all() and (short["completion_tokens"] == 3).all()


def test_adaptive_ratelimit_headers_avoid_429s(replay, corpus, tmp_path):
    replay.config.ratelimit_requests = 5
    replay.config.ratelimit_window_s = 0.25
    started = time.monotonic()
    out = complete(requests_for(instructions(corpus, 20)), settings_for(replay, tmp_path, max_concurrency=4))
    assert out["error_kind"].isna().all()
    assert replay.stats["429_ratelimit"] == 0  # limits learnt from headers, not from 429s
    assert time.monotonic() - started >= 0.5  # 20 requests at 5 per 0.25 s window


def test_requests_per_minute_bucket(replay, corpus, tmp_path):
    started = time.monotonic()
    out = complete(requests_for(instructions(corpus, 8)), settings_for(replay, tmp_path, requests_per_minute=300))
    assert out["error_kind"].isna().all()
    assert time.monotonic() - started >= 0.55  # 5/s, a burst of 5: the last 3 of 8 wait ~0.6 s


def test_cache_dedupe_and_rerun_sends_nothing(replay, corpus, tmp_path):
    texts = instructions(corpus, 5)
    frame = requests_for(texts + texts[:2])  # two repeated contents under new ids
    settings = settings_for(replay, tmp_path)
    first = complete(frame, settings)
    assert replay.stats["requests"] == 5
    assert first["text"].tolist()[5:] == first["text"].tolist()[:2]
    second = complete(frame, settings)
    assert replay.stats["requests"] == 5 and second["cached"].all()
    assert second["text"].tolist() == first["text"].tolist()
    assert list(second["request_id"]) == list(frame["request_id"])


def test_per_row_sampling_settings_change_the_request(replay, corpus, tmp_path):
    text = instructions(corpus, 1)
    frame = pd.DataFrame(
        {
            "request_id": ["a", "b"],
            "messages": [[{"role": "user", "content": text[0]}]] * 2,
            "temperature": [0.0, None],
            "max_tokens": [4, None],
        }
    )
    out = complete(frame, settings_for(replay, tmp_path))
    assert replay.stats["requests"] == 2
    assert out.loc[0, "completion_tokens"] == 4 and out.loc[1, "completion_tokens"] > 4


def test_budget_cap_stops_before_exceeding(replay, corpus, tmp_path):
    price = {"input_per_million": 1000.0, "output_per_million": 1000.0}
    texts = instructions(corpus, 10)
    settings = settings_for(replay, tmp_path, price=price, max_tokens=50, max_cost_usd=0.5, max_concurrency=2)
    projected = project_cost(requests_for(texts), settings)
    assert projected["requests"] == 10 and projected["projected_cost_usd"] > 0.5
    out = complete(requests_for(texts), settings)
    sent = out[out["error_kind"].isna()]
    assert 0 < len(sent) < 10
    assert (out.loc[out["error_kind"].notna(), "error_kind"] == "budget_exceeded").all()
    assert sent["cost_usd"].sum() <= 0.5
    assert replay.stats["requests"] == len(sent)  # refused requests were never sent


def test_dry_run_sends_nothing(replay, corpus, tmp_path, caplog):
    texts = instructions(corpus, 6)
    settings = settings_for(replay, tmp_path, price={"input_per_million": 0.5, "output_per_million": 1.5})
    complete(requests_for(texts[:2]), settings)  # two are cached already
    caplog.set_level("INFO", logger="lamini_lm.teacher")
    out = complete(requests_for(texts), settings.model_copy(update={"dry_run": True}))
    assert replay.stats["requests"] == 2
    assert out["cached"].sum() == 2 and (out.loc[~out["cached"], "error_kind"] == "dry_run").all()
    projection = project_cost(requests_for(texts), settings)
    assert projection["requests"] == 4 and projection["cached"] == 2
    assert projection["projected_cost_usd"] == pytest.approx(
        (projection["prompt_tokens"] * 0.5 + projection["max_completion_tokens"] * 1.5) / 1e6
    )
    assert "4 to send" in caplog.text


@TRANSPORTS
def test_401_stops_at_once_without_the_key(replay, corpus, tmp_path, transport):
    replay.config.expected_key = "sk-right-key-0000"
    register_api_key("sk-wrong-key-1234567890")
    started = time.monotonic()
    with pytest.raises(TeacherAuthError) as info:
        complete(
            requests_for(instructions(corpus, 40)),
            settings_for(replay, tmp_path, max_concurrency=4, transport=transport),
        )
    assert time.monotonic() - started < 5
    assert replay.stats["401"] <= 4  # no retry storm: at most the requests already in flight
    assert "sk-wrong-key-1234567890" not in str(info.value) and "OPENAI_API_KEY" in str(info.value)


@TRANSPORTS
def test_exhausted_quota_stops_instead_of_retrying(replay, corpus, tmp_path, transport):
    replay.config.quota_exhausted = True
    with pytest.raises(TeacherQuotaError, match="insufficient_quota"):
        complete(
            requests_for(instructions(corpus, 20)),
            settings_for(replay, tmp_path, max_concurrency=2, transport=transport),
        )
    assert replay.stats["429_quota"] <= 2


@TRANSPORTS
def test_key_is_sent_when_registered(replay, corpus, tmp_path, transport):
    replay.config.expected_key = "sk-right-key-0000"
    register_api_key("sk-right-key-0000")
    out = complete(requests_for(instructions(corpus, 2)), settings_for(replay, tmp_path, transport=transport))
    assert out["error_kind"].isna().all()


def test_transports_give_identical_results(replay, corpus, tmp_path):
    texts = instructions(corpus, 12, start=300) + ["never recorded 9c2d"]
    replay.set_faults(rate_500=0.2)
    runs = {
        t: complete(requests_for(texts), settings_for(replay, tmp_path / t, transport=t)) for t in ("aiohttp", "sdk")
    }
    columns = ["request_id", "text", "finish_reason", "prompt_tokens", "error_kind", "error_message", "teacher_model"]
    pd.testing.assert_frame_equal(runs["aiohttp"][columns], runs["sdk"][columns])
    assert runs["sdk"].loc[12, "error_kind"] == "not_in_replay_corpus"  # a 400 is recorded, not retried


def test_bad_requests_and_settings_are_named():
    settings = teacher_settings(cache_path=None, progress=False)
    with pytest.raises(ValueError, match="'messages'"):
        complete(pd.DataFrame({"request_id": ["a"]}), settings)
    with pytest.raises(ValueError, match="repeated: \\['a'\\]"):
        complete(
            pd.DataFrame({"request_id": ["a", "a"], "messages": [[{"role": "user", "content": "x"}]] * 2}), settings
        )
    with pytest.raises(ValueError, match="Request 'b': messages\\[0\\]"):
        complete(pd.DataFrame({"request_id": ["b"], "messages": [[{"text": "x"}]]}), settings)
    with pytest.raises(ValueError, match="params:teacher.max_concurency: Extra inputs"):
        complete(requests_for(["x"]), conf_block("teacher", max_concurency=3))
    with pytest.raises(ValueError, match="params:teacher.max_concurrency: Input should be greater than or equal to 1"):
        project_cost(requests_for(["x"]), conf_block("teacher", max_concurrency=0))
    with pytest.raises(ValueError, match="params:teacher.price.batch_discount: Field required"):
        complete(
            requests_for(["x"]), {**conf_block("teacher"), "price": {"input_per_million": 1, "output_per_million": 1}}
        )
    with pytest.raises(ValueError, match="must not hold an API key"):
        complete(requests_for(["x"]), conf_block("teacher", api_key="sk-abc"))
    with pytest.raises(ValidationError, match="must not hold an API key"):  # as Kedro validates params:teacher
        TeacherSettings.model_validate(conf_block("teacher", api_key="sk-abc"))


def test_client_processes_split_the_work_exactly_once(replay, corpus, tmp_path, monkeypatch):
    # fork instead of spawn only to spare the test two interpreters' imports (~10 s here);
    # the benchmark exercises spawn.
    monkeypatch.setattr("lamini_lm.teacher.shard.START_METHOD", "fork")
    texts = instructions(corpus, 30, start=700)
    settings = settings_for(replay, tmp_path, client_processes=2, max_concurrency=8)
    replay.set_faults(rate_500=0.1)
    out = complete(requests_for(texts + ["never recorded 5e1f"]), settings)
    assert out["error_kind"].iloc[:30].isna().all() and out.loc[30, "error_kind"] == "not_in_replay_corpus"
    assert out["text"].iloc[:30].tolist() == [corpus.answer(t)[0] for t in texts]  # same order as asked
    assert all(replay.answered[k] == 1 for k in _keys(texts, settings))
    again = complete(requests_for(texts), settings)
    assert again["cached"].all()
