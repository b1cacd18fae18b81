"""``moderate()`` against the real replay HTTP server: verdicts, cache, retries, refusals, and the key."""

from __future__ import annotations

import logging
import socket
import sqlite3
import time
from pathlib import Path

import pytest
from teacher_helpers import instructions, requests_for, settings_for

from lamini_lm.teacher import (
    MODERATION_COLUMNS,
    TeacherAuthError,
    TeacherQuotaError,
    TeacherUnreachableError,
    complete,
    moderate,
    moderation_key,
    register_api_key,
)
from lamini_lm.teacher.replay.moderations import MODEL_NAME, load_recorded, verdict
from lamini_lm.teacher.tokens import normalise, request_key

MODEL = "omni-moderation-latest"
TOXIC = "You are a worthless idiot and nobody will ever like you."
THREAT = "If you come near my house again I will hurt you."
KIND = "Thank you for helping me with my homework yesterday."
TRANSPORTS = pytest.mark.parametrize("transport", ["aiohttp", "sdk"])


def _fixtures(n: int) -> dict[str, dict]:
    """``n`` test texts with verdicts of the test's own (the replay teacher answers them like recorded ones)."""
    return {
        f"test text number {i}": {"flagged": i % 3 == 0, "category_scores": {"hate": 0.7 if i % 3 == 0 else 0.01}}
        for i in range(n)
    }


def test_recorded_verdicts_cached_and_never_sent_twice(replay, tmp_path):
    settings = settings_for(replay, tmp_path)
    texts = [TOXIC, KIND, THREAT, TOXIC]
    out = moderate(texts, settings, model=MODEL, batch_size=2)
    assert list(out.columns) == MODERATION_COLUMNS and len(out) == 4
    assert out["flagged"].tolist() == [True, False, True, True] and out["error_kind"].isna().all()
    assert out.loc[0, "categories"]["harassment"] and not out.loc[1, "categories"]["harassment"]
    assert out.loc[2, "category_scores"]["violence"] == 0.88
    assert out["moderation_model"].eq(MODEL_NAME).all()  # the replay teacher's recorded set, never "OpenAI's"
    assert replay.stats["moderation_requests"] == 2  # 3 unique texts, 2 per request
    assert all(replay.answered[moderation_key(MODEL, t)] == 1 for t in set(texts))
    again = moderate(texts, settings, model=MODEL, batch_size=2)
    assert replay.stats["moderation_requests"] == 2 and again["cached"].all()  # a re-run sends nothing
    assert again[["flagged", "category_scores"]].equals(out[["flagged", "category_scores"]])
    other_model = moderate([KIND], settings, model="text-moderation-stable", batch_size=2)
    assert replay.stats["moderation_requests"] == 3 and not other_model["cached"].any()  # the model is in the key


def test_moderation_keys_cannot_collide_with_chat_requests(replay, corpus, tmp_path):
    settings = settings_for(replay, tmp_path)
    text = instructions(corpus, 1)[0]
    chat = complete(requests_for([text]), settings)
    replay.server.moderations.verdicts[normalise(text)] = verdict(False, {"hate": 0.01})  # a test's own verdict
    verdicts = moderate([text], settings, model=settings.model, batch_size=1)
    assert chat["error_kind"].isna().all() and verdicts["error_kind"].isna().all()
    with sqlite3.connect(settings.cache_path) as db:
        keys = [k for (k,) in db.execute("SELECT key FROM results")]
    messages = [{"role": "user", "content": text}]
    chat_key = request_key(settings.model, messages, settings.temperature, settings.max_tokens, settings.top_p)
    assert sorted(keys) == sorted([chat_key, moderation_key(settings.model, text)])
    assert moderation_key(settings.model, text).startswith("moderation:") and ":" not in chat_key
    assert complete(requests_for([text]), settings)["text"].tolist() == chat["text"].tolist()  # chat cache intact


def test_unseen_text_is_refused_not_guessed_and_not_retried(replay, tmp_path):
    out = moderate([TOXIC, "a sentence nobody recorded"], settings_for(replay, tmp_path), model=MODEL, batch_size=1)
    assert out["flagged"].tolist() == [True, None] and out.loc[1, "error_kind"] == "cannot_moderate_unseen_text"
    assert "cannot moderate unseen text" in out.loc[1, "error_message"] and out.loc[1, "attempts"] == 1
    assert replay.stats["cannot_moderate"] == 1
    together = moderate(
        [KIND, "another unrecorded sentence"], settings_for(replay, tmp_path), model=MODEL, batch_size=2
    )
    assert together["error_kind"].eq("cannot_moderate_unseen_text").all()  # one request: refused whole


@pytest.mark.parametrize("fault", ["rate_500", "rate_drop", "rate_malformed", "rate_429"])
@TRANSPORTS
def test_retryable_faults_recover_exactly_once(corpus, tmp_path, fault, transport):
    from lamini_lm.teacher.replay import serve

    fixtures = _fixtures(24)
    with serve(corpus=corpus, moderations=fixtures) as replay:
        replay.set_faults(**{fault: 0.3}, retry_after_s=0.01)
        out = moderate(list(fixtures), settings_for(replay, tmp_path, transport=transport), model=MODEL, batch_size=3)
        assert out["error_kind"].isna().all(), out["error_kind"].value_counts()
        name = {"rate_500": "500", "rate_drop": "drop", "rate_malformed": "malformed", "rate_429": "429"}[fault]
        assert replay.stats[f"fault_{name}"] > 0 and out["attempts"].max() > 1
        assert all(replay.answered[moderation_key(MODEL, t)] == 1 for t in fixtures)  # each answered exactly once
    assert out["flagged"].tolist() == [v["flagged"] for v in fixtures.values()]


def test_retries_are_bounded_and_recorded(replay, tmp_path):
    replay.set_faults(rate_500=1.0)
    out = moderate([KIND], settings_for(replay, tmp_path, max_retries=2), model=MODEL, batch_size=1)
    assert out.loc[0, "error_kind"] == "server_error" and out.loc[0, "attempts"] == 3
    assert replay.stats["moderation_requests"] == 3


def test_dry_run_sends_nothing_and_the_budget_does_not_apply(replay, tmp_path):
    settings = settings_for(replay, tmp_path, price={"input_per_million": 5.0, "output_per_million": 5.0})
    moderate([KIND], settings, model=MODEL, batch_size=1)
    dry = moderate([KIND, TOXIC], settings.model_copy(update={"dry_run": True}), model=MODEL, batch_size=1)
    assert replay.stats["moderation_requests"] == 1
    assert dry["cached"].tolist() == [True, False] and dry.loc[1, "error_kind"] == "dry_run"
    capped = moderate([TOXIC], settings.model_copy(update={"max_cost_usd": 0.0}), model=MODEL, batch_size=1)
    assert capped["error_kind"].isna().all()  # moderation is free: a zero budget does not stop it


@TRANSPORTS
def test_an_unreachable_endpoint_fails_fast_naming_the_setting(tmp_path, transport):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    from teacher_helpers import teacher_settings

    settings = teacher_settings(
        base_url=f"http://127.0.0.1:{port}/v1", cache_path=None, progress=False, transport=transport, max_retries=6
    )
    started = time.monotonic()
    with pytest.raises(TeacherUnreachableError, match=r"params:teacher\.base_url") as info:
        moderate([KIND], settings, model=MODEL, batch_size=1)
    assert time.monotonic() - started < 5 and f"127.0.0.1:{port}/v1/moderations" in str(info.value)


def test_a_local_model_teacher_cannot_moderate():
    from teacher_helpers import teacher_settings

    with pytest.raises(ValueError, match="teacher.backend"):
        moderate([KIND], teacher_settings(backend="transformers", cache_path=None), model=MODEL, batch_size=1)


@TRANSPORTS
def test_401_and_exhausted_quota_stop_the_run(replay, tmp_path, transport):
    replay.config.expected_key = "sk-right-key-0000"
    register_api_key("sk-wrong-key-1234567890")
    with pytest.raises(TeacherAuthError) as info:
        moderate([KIND, TOXIC], settings_for(replay, tmp_path, transport=transport), model=MODEL, batch_size=1)
    assert "sk-wrong-key" not in str(info.value) and "OPENAI_API_KEY" in str(info.value)
    assert replay.stats["401"] == 1
    register_api_key("sk-right-key-0000")
    replay.config.quota_exhausted = True
    with pytest.raises(TeacherQuotaError, match="insufficient_quota"):
        moderate([KIND], settings_for(replay, tmp_path, transport=transport), model=MODEL, batch_size=1)


def test_api_key_never_reaches_any_file(replay, tmp_path):
    secret = "sk-proj-MODSECRET-3f9a1c7e5b"
    wrong = "sk-proj-MODWRONG-88cc11dd44"
    replay.config.expected_key = secret
    replay.set_faults(rate_500=0.2, rate_malformed=0.1)
    log_file = tmp_path / "run.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    old_level = root.level
    root.setLevel(logging.DEBUG)
    try:
        register_api_key(secret)
        settings = settings_for(replay, tmp_path)
        out = moderate([TOXIC, KIND, THREAT, "not recorded 5e1d"], settings, model=MODEL, batch_size=1)
        out.astype(str).to_csv(tmp_path / "results.csv")
        register_api_key(wrong)  # the server echoes a rejected key in its 401 message, as OpenAI does
        with pytest.raises(TeacherAuthError) as info:
            moderate(["not recorded either 77a0"], settings, model=MODEL, batch_size=1)
        logging.getLogger("test").error("run failed: %s", info.value)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert out["error_kind"].notna().sum() == 1
    written = [p for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"cache.sqlite", "run.log", "results.csv"}
    for path in written:
        data = path.read_bytes()
        for key in (secret, wrong):
            assert key.encode() not in data and key[8:].encode() not in data, f"{key} found in {path.name}"


def test_the_bundled_verdicts_are_labelled_synthetic():
    import json

    from lamini_lm.teacher.replay.moderations import RECORDED_PATH

    document = json.loads(RECORDED_PATH.read_text())
    assert "SYNTHETIC" in document["about"] and "NOT results of the OpenAI Moderation API" in document["about"]
    assert document["model"] == MODEL_NAME and len(load_recorded()) == len(document["verdicts"])
