"""The durable request cache: one SQLite file (WAL mode) shared by every backend and process.

Each finished request is committed as it arrives, keyed by :func:`request_key`, with a checksum over
key and payload: a corrupt or unreadable entry is reported and re-requested, never returned. Batch
ids are recorded here too, so an interrupted Batch API run resumes its batch. Only successes are
stored (failures are retried by the next run); the API key never is. The ``in_flight`` table marks
each request before it is sent; the commit of its answer clears the mark, so marks left behind are
requests a killed run may have paid for (reported by the next run).

Group commit (:meth:`ResultCache.grouped`, the ``openai`` backend's event loop): the answers and the
in-flight marks of one event-loop iteration are committed in one transaction at the start of the
next iteration, instead of one commit each (two SQLite commits per request were the largest part of
the client's CPU above a bare HTTP client: docs/benchmarks/teacher.md). A sender awaits the
transaction that holds its mark before it sends, so the journal's guarantee is unchanged; a kill
loses at most the answers of one iteration, whose marks are still committed, so the next run reports
them as possibly paid. The queue is flushed before every read and on :meth:`close`; a transaction is
all or nothing, so a crash mid-flush leaves no half-written row.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY, payload TEXT NOT NULL, checksum TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS in_flight (
    key TEXT PRIMARY KEY, cost_usd REAL NOT NULL, sent_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    batch_id TEXT PRIMARY KEY, endpoint TEXT NOT NULL, model TEXT NOT NULL, keys TEXT NOT NULL,
    status TEXT NOT NULL, created_at REAL NOT NULL
);
"""


def _checksum(key: str, payload: str) -> str:
    return hashlib.sha256(f"{key}\n{payload}".encode()).hexdigest()


class ResultCache:
    """Request results by content hash. ``path=None`` keeps them in memory for this call only."""

    def __init__(self, path: str | Path | None):
        self.path = None if path is None else Path(path)
        self.corrupt_keys: list[str] = []
        self.commits = 0  # write transactions committed by this connection (benchmarks and tests count them)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None  # set while grouping (:meth:`grouped`)
        self._rows: dict[str, tuple[str, str, float]] = {}  # answers waiting for the next flush
        self._marks: dict[str, tuple[float, float]] = {}  # in-flight marks waiting for the next flush
        self._marked: asyncio.Future | None = None  # done when the waiting marks are committed
        self._scheduled = False
        if self.path is None:
            target = ":memory:"
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            target = str(self.path)
        try:
            self._db = sqlite3.connect(target, timeout=60, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA busy_timeout=60000")
            if self.path is not None:
                self._db.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL: a commit survives the process being killed (not a power cut).
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise RuntimeError(
                f"Teacher cache {target} cannot be opened ({exc}). Move it aside or set "
                "params:teacher.cache_path to a new file."
            ) from exc

    # -- results ---------------------------------------------------------------------------
    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Valid cached results for ``keys``; corrupt entries are logged and left out."""
        keys = list(dict.fromkeys(keys))
        self.flush()
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(
                    f"SELECT key, payload, checksum FROM results WHERE key IN ({marks})", chunk
                ).fetchall()
            for key, payload, checksum in rows:
                record = self._decode(key, payload, checksum)
                if record is not None:
                    found[key] = record
        return found

    def _decode(self, key: str, payload: Any, checksum: Any) -> dict[str, Any] | None:
        try:
            if not isinstance(payload, str) or checksum != _checksum(key, payload):
                raise ValueError("checksum mismatch")
            record = json.loads(payload)
            if not isinstance(record, dict) or "text" not in record:
                raise ValueError("not a result record")
            return record
        except ValueError as exc:
            self.corrupt_keys.append(key)
            logger.warning("Teacher cache entry %s… is corrupt (%s); it will be requested again.", key[:12], exc)
            return None

    def put(self, key: str, record: dict[str, Any]) -> None:
        """Commit one result (replacing a corrupt entry if there was one) and clear its in-flight mark in
        the same transaction: now, or while :meth:`grouped`, with the rest of this loop iteration's."""
        payload = json.dumps(record, sort_keys=True, ensure_ascii=False)
        row = (payload, _checksum(key, payload), time.time())
        if self._loop is None:
            self._write({}, {key: row})
            return
        self._rows[key] = row
        self._schedule()

    # -- the in-flight journal ---------------------------------------------------------------
    def mark_in_flight(self, key: str, cost_usd: float) -> None:
        """Commit now that ``key`` is about to be sent (``cost_usd``: its projected cost, every answer at
        ``max_tokens``). :meth:`put` clears the mark; a mark left behind is a request a killed run
        may have paid for without receiving the answer."""
        self._write({key: (float(cost_usd), time.time())}, {})

    async def mark_in_flight_grouped(self, key: str, cost_usd: float) -> None:
        """:meth:`mark_in_flight`, returning once the mark is committed — in one transaction with every
        mark and answer of this event-loop iteration while :meth:`grouped` (else at once). Send only
        after this returns. Cancelling the caller does not cancel the others' transaction."""
        if self._loop is None:
            self.mark_in_flight(key, cost_usd)
            return
        self._marks[key] = (float(cost_usd), time.time())
        if self._marked is None:
            self._marked = self._loop.create_future()
        marked = self._marked
        self._schedule()
        await asyncio.shield(marked)

    def clear_in_flight(self, key: str) -> None:
        """``key`` is not outstanding after all: drop its mark (a waiting one too) now."""
        self._marks.pop(key, None)
        with self._lock:
            self._db.execute("DELETE FROM in_flight WHERE key=?", (key,))

    # -- group commit ----------------------------------------------------------------------
    @contextlib.contextmanager
    def grouped(self) -> Iterator[ResultCache]:
        """Group the commits of :meth:`put` and :meth:`mark_in_flight_grouped` per iteration of the running
        event loop for the block (enter it in the loop; every call in it must come from the loop's
        thread); everything still waiting is committed when the block exits, however it exits."""
        self._loop = asyncio.get_running_loop()
        try:
            yield self
        finally:
            self._loop = None
            self.flush()

    def _schedule(self) -> None:
        if not self._scheduled and self._loop is not None:
            self._scheduled = True
            self._loop.call_soon(self.flush)

    def flush(self) -> None:
        """Commit the waiting marks and answers in one transaction, then release the senders waiting for
        their marks. On failure nothing of it is written: the answers wait for the next flush (or
        :meth:`close`), the waiting senders get the error (or are cancelled) and send nothing."""
        self._scheduled = False
        marks, rows, marked = self._marks, self._rows, self._marked
        self._marks, self._rows, self._marked = {}, {}, None
        try:
            if marks or rows:
                self._write(marks, rows)
        except BaseException as exc:
            self._rows = {**rows, **self._rows}
            if marked is not None and not marked.done():
                if isinstance(exc, Exception):
                    marked.set_exception(exc)
                else:
                    marked.cancel()
            raise
        if marked is not None and not marked.done():
            marked.set_result(None)

    def _write(self, marks: dict[str, tuple[float, float]], rows: dict[str, tuple[str, str, float]]) -> None:
        """One transaction: the marks, then the answers (each clearing its key's mark)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                if marks:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO in_flight (key, cost_usd, sent_at) VALUES (?, ?, ?)",
                        [(key, cost, sent_at) for key, (cost, sent_at) in marks.items()],
                    )
                if rows:
                    self._db.executemany(
                        "INSERT OR REPLACE INTO results (key, payload, checksum, created_at) VALUES (?, ?, ?, ?)",
                        [(key, *row) for key, row in rows.items()],
                    )
                    self._db.executemany("DELETE FROM in_flight WHERE key=?", [(key,) for key in rows])
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            self.commits += 1

    def in_flight(self, keys: Iterable[str]) -> dict[str, float]:
        """Of ``keys``, those an earlier run left in flight (sent, answer never committed): key → projected cost."""
        keys = list(dict.fromkeys(keys))
        self.flush()
        found: dict[str, float] = {}
        for start in range(0, len(keys), 500):
            chunk = keys[start : start + 500]
            marks = ",".join("?" * len(chunk))
            with self._lock:
                rows = self._db.execute(f"SELECT key, cost_usd FROM in_flight WHERE key IN ({marks})", chunk)
                found.update(dict(rows.fetchall()))
        return found

    def __len__(self) -> int:
        self.flush()
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM results").fetchone()[0]

    # -- batches ---------------------------------------------------------------------------
    def record_batch(self, batch_id: str, endpoint: str, model: str, keys: list[str]) -> None:
        """Remember a submitted batch before polling it, so an interrupted run can resume it."""
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO batches VALUES (?, ?, ?, ?, 'submitted', ?)",
                (batch_id, endpoint, model, json.dumps(keys), time.time()),
            )

    def open_batches(self, endpoint: str, model: str) -> list[tuple[str, list[str]]]:
        """Submitted, not yet collected batches of this endpoint and model: ``(batch_id, keys)``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT batch_id, keys FROM batches WHERE status='submitted' AND endpoint=? AND model=? "
                "ORDER BY created_at",
                (endpoint, model),
            ).fetchall()
        return [(batch_id, json.loads(keys)) for batch_id, keys in rows]

    def close_batch(self, batch_id: str, status: str) -> None:
        with self._lock:
            self._db.execute("UPDATE batches SET status=? WHERE batch_id=?", (status, batch_id))

    def close(self) -> None:
        """Commit whatever waits (:meth:`flush`), then close the connection (also if the flush fails)."""
        try:
            self.flush()
        finally:
            with self._lock:
                self._db.close()
