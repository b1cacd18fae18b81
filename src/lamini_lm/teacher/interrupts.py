"""Ctrl-C and SIGTERM during a teacher run: the first drains, the second stops at once.

On the first signal the backend sends nothing new, waits up to ``teacher.drain_timeout_s`` for the
requests already in flight (their answers are committed to the cache as they arrive), then the
signal takes effect: ``KeyboardInterrupt`` for SIGINT, ``SystemExit(143)`` for SIGTERM. A second
signal raises ``KeyboardInterrupt`` at once. Handlers are installed only in the main thread (where
Python delivers signals) and only for the call's duration; the previous handlers come back after.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

logger = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """The drain request of one ``complete()`` call: set by a signal handler or by :meth:`request`."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self._previous: dict[int, Any] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    @property
    def draining(self) -> bool:
        return self.signum is not None

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupts]:
        """Handle SIGINT and SIGTERM for the block (main thread only; ignored signals stay ignored)."""
        if threading.current_thread() is threading.main_thread():
            for sig in SIGNALS:
                previous = signal.getsignal(sig)
                if previous in (signal.SIG_IGN, None):
                    continue
                self._previous[sig] = previous
                signal.signal(sig, self._handle)
        try:
            yield self
        finally:
            self.restore()

    def restore(self) -> None:
        for sig, previous in self._previous.items():
            signal.signal(sig, previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if self.signum is not None:
            self.restore()
            logger.warning("Teacher: second interrupt — stopping at once; requests in flight stay marked as such.")
            raise KeyboardInterrupt
        self.request(signum)

    def request(self, signum: int) -> None:
        """Ask the running backend to drain (a signal handler, or a parent process's request)."""
        if self.signum is not None:
            return
        self.signum = signum
        logger.warning(
            "Teacher: %s — sending nothing new; waiting for the requests in flight (interrupt again to stop at once).",
            signal.Signals(signum).name,
        )
        if self._loop is not None and self._event is not None:
            self._loop.call_soon_threadsafe(self._event.set)

    def attach(self) -> asyncio.Event:
        """An event of the running loop, set when a drain is requested (call from inside the loop)."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        if self.signum is not None:
            self._event.set()
        return self._event

    def take_effect(self) -> None:
        """After the drain: what the signal would have done (``KeyboardInterrupt`` / ``SystemExit``)."""
        if self.signum == signal.SIGINT:
            raise KeyboardInterrupt
        if self.signum is not None:
            raise SystemExit(128 + self.signum)
