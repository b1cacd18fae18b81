"""Group commit: the answers and in-flight marks of one event-loop iteration are one SQLite transaction.

What must still hold (the journal's guarantees, docs/teacher.md): a mark is committed — visible to
any other connection — before its request reaches the server; nothing waiting is lost on a flush,
a read or a close; a process killed in the middle of a flush leaves no half-written row.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import sqlite3
import threading
from pathlib import Path

from teacher_helpers import instructions, requests_for, settings_for

from lamini_lm.teacher import complete
from lamini_lm.teacher.cache import ResultCache
from lamini_lm.teacher.tokens import request_key
from lamini_lm.teacher.transport import TRANSPORTS


def _count_commits(cache: ResultCache) -> list[str]:
    """The COMMIT statements the cache's connection runs from now on (SQLite's own trace)."""
    commits: list[str] = []
    cache._db.set_trace_callback(lambda sql: commits.append(sql) if sql.strip().upper() == "COMMIT" else None)
    return commits


def _other(path: Path, sql: str) -> list[tuple]:
    """``sql`` through a second, independent connection: what is committed, nothing else."""
    with sqlite3.connect(path, timeout=10) as db:
        return db.execute(sql).fetchall()


def test_answers_and_marks_of_one_loop_iteration_are_one_commit(tmp_path):
    path = tmp_path / "cache.sqlite"
    cache = ResultCache(path)
    commits = _count_commits(cache)

    async def main() -> None:
        with cache.grouped():
            for i in range(50):  # 50 answers arriving in one iteration
                cache.put(f"a{i}", {"text": f"answer {i}"})
            assert _other(path, "SELECT COUNT(*) FROM results") == [(0,)]  # waiting, not yet committed
            await asyncio.sleep(0)  # the next iteration flushes
            assert len(commits) == 1 and _other(path, "SELECT COUNT(*) FROM results") == [(50,)]

            async def worker(i: int) -> None:  # as a client worker: an answer arrives, the next request's mark
                cache.put(f"b{i}", {"text": f"answer b{i}"})
                await cache.mark_in_flight_grouped(f"m{i}", 0.01)
                assert _other(path, f"SELECT 1 FROM in_flight WHERE key = 'm{i}'") == [(1,)]  # before it sends

            await asyncio.gather(*(worker(i) for i in range(20)))  # 20 workers in one iteration: one transaction
            assert len(commits) == 2
            assert _other(path, "SELECT COUNT(*) FROM in_flight") == [(20,)]
            assert _other(path, "SELECT COUNT(*) FROM results") == [(70,)]

    asyncio.run(main())
    cache.close()


def test_reads_flush_first_and_close_loses_nothing_waiting(tmp_path):
    path = tmp_path / "cache.sqlite"
    cache = ResultCache(path)

    async def main() -> None:
        with cache.grouped():
            cache.put("x", {"text": "seen by the read"})
            assert cache.get_many(["x"]) == {"x": {"text": "seen by the read"}}  # same iteration, no await
            cache.put("y", {"text": "committed on close"})
            cache.put("z", {"text": "committed on close"})

    asyncio.run(main())
    cache.put("w", {"text": "not grouped: committed at once"})
    assert _other(path, "SELECT key FROM results ORDER BY key") == [("w",), ("x",), ("y",), ("z",)]
    cache.close()


def test_a_cancelled_sender_leaves_no_mark_and_does_not_cancel_the_others(tmp_path):
    path = tmp_path / "cache.sqlite"
    cache = ResultCache(path)

    async def main() -> None:
        with cache.grouped():
            kept = asyncio.create_task(cache.mark_in_flight_grouped("kept", 0.01))
            dropped = asyncio.create_task(cache.mark_in_flight_grouped("dropped", 0.01))
            await asyncio.sleep(0)  # both wait for the same transaction
            dropped.cancel()
            cache.clear_in_flight("dropped")  # what Run.unmark does for a sender cancelled before sending
            await kept
            assert dropped.cancelled()

    asyncio.run(main())
    assert _other(path, "SELECT key FROM in_flight") == [("kept",)]
    cache.close()


def test_the_client_commits_about_once_per_loop_iteration_not_twice_per_request(replay, corpus, tmp_path, monkeypatch):
    """Through ``complete()``: 64 requests at concurrency 16 were 128 commits before group commit."""
    commits: list[int] = []
    close = ResultCache.close

    def counting_close(self: ResultCache) -> None:
        close(self)
        commits.append(self.commits)

    monkeypatch.setattr(ResultCache, "close", counting_close)
    replay.config.latency_ms = 50
    out = complete(requests_for(instructions(corpus, 64)), settings_for(replay, tmp_path, max_concurrency=16))
    assert out["error_kind"].isna().all() and len(_other(tmp_path / "cache.sqlite", "SELECT key FROM results")) == 64
    assert 1 <= commits[-1] <= 64, commits  # at most one per request, where two were before


def test_every_mark_is_committed_before_its_request_is_sent_and_received(replay, corpus, tmp_path, monkeypatch):
    """Checked through another connection as the client hands each request to its transport (the real
    one, wrapped) and as the server receives it, before answering."""
    settings = settings_for(replay, tmp_path, max_concurrency=8)
    path = Path(settings.cache_path)
    sent: list[bool] = []
    received: dict[str, bool] = {}
    lock = threading.Lock()

    def marked(key: str) -> bool:
        return bool(_other(path, f"SELECT 1 FROM in_flight WHERE key = '{key}'"))

    def on_receive(key: str) -> None:
        with lock:
            received[key] = marked(key)

    transport = TRANSPORTS[settings.transport]
    post = transport.post

    async def checked_post(self, body):
        sent.append(marked(request_key(body["model"], body["messages"], body["temperature"], body["max_tokens"], None)))
        return await post(self, body)

    monkeypatch.setattr(transport, "post", checked_post)
    replay.config.latency_ms = 20
    replay.config.on_receive = on_receive
    out = complete(requests_for(instructions(corpus, 40, start=300)), settings)
    assert out["error_kind"].isna().all()
    assert len(sent) == 40 and all(sent), sent
    assert len(received) == 40 and all(received.values()), [k[:12] for k, ok in received.items() if not ok]
    assert _other(path, "SELECT COUNT(*) FROM in_flight") == [(0,)]  # every answer cleared its mark


def _killed_mid_flush(path: str, ticks: int) -> None:
    """Commit 5 answers and 3 marks, then group 20 answers and SIGKILL this process ``ticks`` SQLite VM
    steps into their flush's transaction (inside the INSERTs, or at the COMMIT for a large ``ticks``)."""
    cache = ResultCache(path)
    for i in range(5):
        cache.put(f"before{i}", {"text": f"kept {i}"})
    for i in range(3):
        cache.mark_in_flight(f"sent{i}", 0.01)  # sent, no answer yet: must stay marked after the kill
    seen = [0]

    def progress() -> int:
        if cache._db.in_transaction:
            seen[0] += 1
            if seen[0] >= ticks:
                os.kill(os.getpid(), signal.SIGKILL)
        return 0

    cache._db.set_progress_handler(progress, 1)

    async def main() -> None:
        with cache.grouped():
            for i in range(20):
                cache.put(f"during{i}", {"text": "x" * 2000 + str(i)})
            await asyncio.sleep(0)

    asyncio.run(main())
    os._exit(0)  # the flush finished without the kill: the test says so


def test_a_kill_mid_flush_leaves_no_half_written_row(tmp_path):
    ctx = multiprocessing.get_context("fork")
    for ticks in (1, 40, 400):
        path = tmp_path / f"cache-{ticks}.sqlite"
        proc = ctx.Process(target=_killed_mid_flush, args=(str(path), ticks))
        proc.start()
        proc.join(60)
        assert proc.exitcode == -signal.SIGKILL, f"ticks={ticks}: the flush ended before the kill"
        assert _other(path, "PRAGMA integrity_check") == [("ok",)]
        cache = ResultCache(path)
        found = cache.get_many([f"before{i}" for i in range(5)] + [f"during{i}" for i in range(20)])
        assert not cache.corrupt_keys  # every row there is whole (its checksum holds)
        assert sorted(found) == [f"before{i}" for i in range(5)]  # the interrupted transaction: none of it
        assert sorted(cache.in_flight([f"sent{i}" for i in range(3)])) == ["sent0", "sent1", "sent2"]
        cache.close()
