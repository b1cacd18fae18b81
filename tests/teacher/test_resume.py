"""A client process killed mid-run loses nothing it was answered, and never pays twice."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from teacher_helpers import instructions, requests_for, settings_for

from lamini_lm.teacher import TeacherSettings, complete
from lamini_lm.teacher.tokens import request_key

SCRIPT = Path(__file__).with_name("client_process.py")
pytestmark = pytest.mark.slow  # client subprocesses


def _committed(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=10) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _wait(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the client process"
        time.sleep(0.05)


def _start(tmp_path: Path, texts: list[str], settings: TeacherSettings, sig_name: str = "job") -> subprocess.Popen:
    job = tmp_path / f"{sig_name}.json"
    job.write_text(json.dumps({"texts": texts, "settings": settings.model_dump()}))
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(job)],
        stdout=subprocess.DEVNULL,
        stderr=open(tmp_path / f"{sig_name}.log", "w"),
    )


def _run_killed(replay, corpus, tmp_path, sig) -> tuple[list[str], dict]:
    texts = instructions(corpus, 40, start=100)
    settings = settings_for(replay, tmp_path, max_concurrency=4)
    replay.config.latency_ms = 10
    replay.config.stall_after = 15  # hold everything after 15 answers: the kill lands with requests in flight
    proc = _start(tmp_path, texts, settings)
    try:
        cache = Path(settings.cache_path)
        _wait(lambda: _committed(cache) == 15 and replay.stats["stalled"] >= 1)
        proc.send_signal(sig)
        proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()
    replay.release_stall()
    assert _committed(Path(settings.cache_path)) == 15
    return texts, settings


def _assert_resumes_exactly_once(replay, texts, settings):
    before = replay.stats["requests"]
    out = complete(requests_for(texts), settings)
    assert out["error_kind"].isna().all()
    assert out["cached"].sum() == 15 and replay.stats["requests"] - before == 25  # only the missing 25 sent
    keys = [request_key("gpt-3.5-turbo", [{"role": "user", "content": t}], 0.7, 512, None) for t in texts]
    assert [replay.answered[k] for k in keys] == [1] * 40  # no request answered successfully twice


def test_killed_process_resumes_without_paying_twice(replay, corpus, tmp_path):
    texts, settings = _run_killed(replay, corpus, tmp_path, signal.SIGKILL)
    _assert_resumes_exactly_once(replay, texts, settings)


def test_ctrl_c_keeps_finished_results(replay, corpus, tmp_path):
    texts, settings = _run_killed(replay, corpus, tmp_path, signal.SIGINT)
    log = (tmp_path / "job.log").read_text()
    assert "INTERRUPTED" in log and "KeyboardInterrupt" in log
    _assert_resumes_exactly_once(replay, texts, settings)
