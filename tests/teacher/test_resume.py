"""A client process stopped mid-run, then resumed, against a server that counts every answer it sends.

The replay server counts an answer as served when it sends it, whether or not the client is still
there (as a paid API bills it), and the requests really take time (latency, no stalls): what these
tests count is what a real endpoint would have billed.

- Ctrl-C / SIGTERM: the client sends nothing new, finishes what is in flight, commits it, stops →
  nothing is answered twice after the resume.
- SIGKILL: the requests in flight are answered by the server but never committed; each was marked
  in flight before it was sent, so the resumed run reports them (at most ``max_concurrency``), and
  exactly those are the ones answered twice.
"""

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
CONCURRENCY = 4
pytestmark = pytest.mark.slow  # client subprocesses


def _committed(path: Path) -> int:
    if not path.exists():
        return 0
    with sqlite3.connect(path, timeout=10) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _wait(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out waiting for the client process"
        time.sleep(0.02)


def _start(tmp_path: Path, texts: list[str], settings: TeacherSettings) -> subprocess.Popen:
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"texts": texts, "settings": settings.model_dump()}))
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), str(job)], stdout=subprocess.DEVNULL, stderr=open(tmp_path / "job.log", "w")
    )


def _keys(texts: list[str]) -> list[str]:
    return [request_key("gpt-3.5-turbo", [{"role": "user", "content": t}], 0.7, 512, None) for t in texts]


def _interrupt(replay, corpus, tmp_path, signals: list[int], latency_ms: float = 150, **overrides):
    """Start a client on 60 requests, signal it once 10 answers are committed (requests in flight), wait
    for it to exit and for the server to finish answering; returns texts, settings, exit code, log."""
    texts = instructions(corpus, 60, start=100)
    settings = settings_for(replay, tmp_path, max_concurrency=CONCURRENCY, **overrides)
    replay.config.latency_ms = latency_ms
    proc = _start(tmp_path, texts, settings)
    cache = Path(settings.cache_path)
    try:
        _wait(lambda: _committed(cache) >= 10)
        for sig in signals:
            proc.send_signal(sig)
            time.sleep(0.05)
        code = proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
    # The server answers what was in flight even if the client has gone: let it finish.
    _wait(lambda: replay.stats["requests"] == sum(replay.answered.values()))
    return texts, settings, code, (tmp_path / "job.log").read_text()


def _resume(replay, texts, settings):
    out = complete(requests_for(texts), settings)
    assert out["error_kind"].isna().all()
    answered = [replay.answered[k] for k in _keys(texts)]
    assert min(answered) == 1  # nothing lost
    twice = {k for k in _keys(texts) if replay.answered[k] > 1}
    return out, twice


@pytest.mark.parametrize(("sig", "exit_code"), [(signal.SIGINT, -signal.SIGINT), (signal.SIGTERM, 143)])
def test_ctrl_c_and_sigterm_drain_so_nothing_is_paid_twice(replay, corpus, tmp_path, sig, exit_code):
    texts, settings, code, log = _interrupt(replay, corpus, tmp_path, [sig])
    assert code == exit_code, log
    assert "sending nothing new" in log and "every request in flight has finished" in log
    assert "INTERRUPTED" in log
    served = sum(replay.answered.values())
    assert 10 <= served < len(texts)  # stopped part-way
    assert _committed(Path(settings.cache_path)) == served  # every answer sent was committed
    out, twice = _resume(replay, texts, settings)
    assert twice == set()  # 0 answered twice
    assert out.attrs["teacher"]["possibly_paid_twice"] == 0
    assert out["cached"].sum() == served


def test_sigkill_pays_twice_at_most_the_requests_in_flight_and_the_resume_says_which(replay, corpus, tmp_path):
    texts, settings, code, _ = _interrupt(replay, corpus, tmp_path, [signal.SIGKILL])
    assert code == -signal.SIGKILL
    out, twice = _resume(replay, texts, settings)
    reported = set(out.attrs["teacher"]["possibly_paid_twice_keys"])
    assert 1 <= len(twice) <= CONCURRENCY  # the requests in flight at the kill, answered again
    assert twice <= reported and len(reported) <= CONCURRENCY
    assert out.attrs["teacher"]["possibly_paid_twice"] == len(reported)


def test_a_second_ctrl_c_stops_at_once_and_the_resume_reports_what_was_in_flight(replay, corpus, tmp_path):
    started = time.monotonic()
    texts, settings, code, log = _interrupt(replay, corpus, tmp_path, [signal.SIGINT, signal.SIGINT], latency_ms=2000)
    assert code != 0 and "second interrupt" in log, log
    out, _ = _resume(replay, texts, settings)
    assert 1 <= out.attrs["teacher"]["possibly_paid_twice"] <= CONCURRENCY
    assert time.monotonic() - started < 60


def test_drain_is_bounded_by_drain_timeout_s(replay, corpus, tmp_path):
    texts, settings, code, log = _interrupt(
        replay, corpus, tmp_path, [signal.SIGTERM], latency_ms=1500, drain_timeout_s=0.2
    )
    assert code == 143 and "still in flight after drain_timeout_s=0" in log, log
