"""The ``openai_batch`` backend against the replay teacher's files/batches endpoints."""

from __future__ import annotations

import json
import signal
import time

import pytest
from teacher_helpers import instructions, requests_for, settings_for
from test_resume import _start, _wait

from lamini_lm.teacher import complete
from lamini_lm.teacher.tokens import request_key

FAST = {"poll_interval_s": 0.05, "poll_max_interval_s": 0.2}


def _batch_settings(replay, tmp_path, **batch):
    return settings_for(
        replay,
        tmp_path,
        backend="openai_batch",
        batch={**FAST, **batch},
        price={"input_per_million": 1.0, "output_per_million": 2.0, "batch_discount": 0.5},
    )


def _keys(texts):
    return [request_key("gpt-3.5-turbo", [{"role": "user", "content": t}], 0.7, 512, None) for t in texts]


def _input_keys(replay) -> list[set[str]]:
    return [
        {json.loads(line)["custom_id"] for line in f["content"].decode().splitlines()}
        for f in replay.server.files.values()
        if f["purpose"] == "batch"
    ]


def test_full_cycle_with_errors_and_discount(replay, corpus, tmp_path):
    replay.config.batch_duration_s = 0.1
    texts = instructions(corpus, 12) + ["never recorded c0ffee"]
    settings = _batch_settings(replay, tmp_path)
    out = complete(requests_for(texts), settings)
    assert out["error_kind"].iloc[:12].isna().all()
    assert out.loc[12, "error_kind"] == "not_in_replay_corpus"
    assert out["teacher_model"].iloc[0] == "replay:gpt-3.5-turbo"
    row = out.iloc[0]
    assert row["cost_usd"] == pytest.approx((row["prompt_tokens"] * 1.0 + row["completion_tokens"] * 2.0) / 1e6 * 0.5)
    assert replay.stats["batches_created"] == 1 and replay.stats["requests"] == 0
    again = complete(requests_for(texts[:12]), settings.model_copy(update={"backend": "openai"}))  # one ledger for both
    assert again["cached"].all() and replay.stats["requests"] == 0


def test_expired_requests_are_resubmitted_alone(replay, corpus, tmp_path):
    replay.config.batch_duration_s = 0.05
    replay.config.batch_expire_rate = 0.4
    texts = instructions(corpus, 20, start=200)
    out = complete(requests_for(texts), _batch_settings(replay, tmp_path, max_rounds=6))
    assert out["error_kind"].isna().all()
    inputs = _input_keys(replay)
    assert len(inputs) >= 2 and inputs[0] == set(_keys(texts)) and len(inputs[1]) < len(inputs[0])
    for earlier, later in zip(inputs, inputs[1:]):
        assert later <= earlier  # each round resubmits only what is still missing
    assert all(replay.answered[k] == 1 for k in _keys(texts))


def test_switching_backend_halfway_sends_only_the_missing(replay, corpus, tmp_path):
    replay.config.batch_duration_s = 0.05
    texts = instructions(corpus, 10, start=300)
    settings = _batch_settings(replay, tmp_path)
    complete(requests_for(texts[:4]), settings.model_copy(update={"backend": "openai"}))
    out = complete(requests_for(texts), settings)
    assert out["cached"].sum() == 4 and out["error_kind"].isna().all()
    assert _input_keys(replay) == [set(_keys(texts[4:]))]


@pytest.mark.slow
def test_interrupted_poll_resumes_the_recorded_batch(replay, corpus, tmp_path):
    replay.config.batch_duration_s = 1.5
    texts = instructions(corpus, 8, start=400)
    settings = _batch_settings(replay, tmp_path)
    proc = _start(tmp_path, texts, settings)
    try:
        _wait(lambda: replay.stats["batches_created"] == 1 and replay.stats["batch_polls"] >= 1)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
    started = time.monotonic()
    out = complete(requests_for(texts), settings)
    assert out["error_kind"].isna().all() and not out["cached"].any()
    assert replay.stats["batches_created"] == 1 and replay.stats["files_uploaded"] == 1  # no second payment
    assert all(replay.answered[k] == 1 for k in _keys(texts))
    assert time.monotonic() - started < 10


def test_batch_still_running_is_left_for_the_next_run(replay, corpus, tmp_path):
    replay.config.batch_duration_s = 0.6
    texts = instructions(corpus, 3, start=500)
    settings = _batch_settings(replay, tmp_path, max_wait_s=0.2)
    first = complete(requests_for(texts), settings)
    assert (first["error_kind"] == "batch_pending").all()
    time.sleep(0.6)
    second = complete(requests_for(texts), settings)
    assert second["error_kind"].isna().all() and replay.stats["batches_created"] == 1
