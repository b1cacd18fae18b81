"""The durable cache: concurrent writers, corrupt entries, and secrets kept out of every file."""

from __future__ import annotations

import logging
import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from teacher_helpers import instructions, requests_for, settings_for

from lamini_lm.teacher import TeacherAuthError, complete, register_api_key
from lamini_lm.teacher.cache import ResultCache


def _writer(path: str, worker: int, n: int) -> None:
    cache = ResultCache(path)
    for i in range(n):
        cache.put(f"w{worker}-{i}", {"text": f"answer {worker}/{i}", "prompt_tokens": i})
        cache.get_many([f"w{(worker + 1) % 3}-{i}"])  # readers interleaved with writers
    cache.close()


def test_concurrent_writer_processes(tmp_path):
    path = str(tmp_path / "cache.sqlite")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(path, w, 150)) for w in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    cache = ResultCache(path)
    found = cache.get_many(f"w{w}-{i}" for w in range(3) for i in range(150))
    assert len(found) == 450 and not cache.corrupt_keys
    assert found["w2-149"]["text"] == "answer 2/149"


def test_corrupt_entry_is_requested_again(replay, corpus, tmp_path, caplog):
    texts = instructions(corpus, 4)
    settings = settings_for(replay, tmp_path)
    first = complete(requests_for(texts), settings)
    with sqlite3.connect(settings.cache_path) as db:
        key = db.execute("SELECT key FROM results ORDER BY key LIMIT 1").fetchone()[0]
        db.execute("UPDATE results SET payload = replace(payload, 'text', 'txet') WHERE key = ?", (key,))
        other = db.execute("SELECT key FROM results WHERE key != ? LIMIT 1", (key,)).fetchone()[0]
        db.execute('UPDATE results SET payload = \'{"text": "forged"}\' WHERE key = ?', (other,))
    caplog.set_level(logging.WARNING)
    second = complete(requests_for(texts), settings)
    assert replay.stats["requests"] == 6  # 4, then only the two corrupt ones again
    assert second["text"].tolist() == first["text"].tolist() and "forged" not in second["text"].tolist()
    assert second["cached"].sum() == 2 and caplog.text.count("is corrupt") == 2
    third = complete(requests_for(texts), settings)  # the repaired entries are valid again
    assert third["cached"].all() and replay.stats["requests"] == 6


def test_unreadable_cache_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "cache.sqlite"
    bad.write_bytes(b"this is not a database" * 100)
    with pytest.raises(RuntimeError, match="params:teacher.cache_path"):
        ResultCache(bad)


def test_api_key_never_reaches_any_file(replay, corpus, tmp_path):
    secret = "sk-proj-TESTSECRET-7c1e9d2b4a"
    wrong = "sk-proj-WRONGKEY-55aa77bb99"
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
        texts = instructions(corpus, 6) + ["never recorded 91b2"]
        out = complete(requests_for(texts), settings)
        out.to_parquet(tmp_path / "results.parquet")
        out.to_csv(tmp_path / "results.csv")
        register_api_key(wrong)  # the server echoes a rejected key in its 401 message, as OpenAI does
        with pytest.raises(TeacherAuthError) as info:
            complete(requests_for(instructions(corpus, 3, start=50)), settings)
        logging.getLogger("test").error("run failed: %s", info.value)
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()
    assert out["error_kind"].notna().sum() == 1
    written = [p for p in Path(tmp_path).rglob("*") if p.is_file()]
    assert {p.name for p in written} >= {"cache.sqlite", "run.log", "results.parquet", "results.csv"}
    for path in written:
        data = path.read_bytes()
        for key in (secret, wrong):
            assert key.encode() not in data, f"{key} found in {path.name}"
            assert key[8:].encode() not in data, f"part of {key} found in {path.name}"
