"""The replay teacher (``python -m lamini_lm.teacher.replay``) in its own process, for the teacher benchmarks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class ReplayProcess:
    """The server on a free port; ``faults`` are its rate flags (e.g. ``rate_429=0.05`` → ``--rate-429=0.05``)."""

    def __init__(self, latency_ms: float, retry_after_s: float = 1.0, **faults: float):
        self.port_file = Path(tempfile.mkdtemp()) / "port"
        flags = [f"--{name.replace('_', '-')}={rate}" for name, rate in faults.items()]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "lamini_lm.teacher.replay", "--port", "0", "--port-file", str(self.port_file)]
            + ["--latency-ms", str(latency_ms), "--retry-after-s", str(retry_after_s), *flags],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not self.port_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("replay server did not start")
            time.sleep(0.05)
        self.root = f"http://127.0.0.1:{self.port_file.read_text()}"
        self.base_url = f"{self.root}/v1"

    def counts(self) -> dict:
        """The server's ``GET /_stats``: every answer it sent, whether or not its client was still there."""
        with urllib.request.urlopen(f"{self.root}/_stats", timeout=10) as response:
            return json.loads(response.read())

    def settle(self) -> dict:
        """The counts once the server has finished what it was answering (no change for 0.5 s)."""
        last = self.counts()
        while True:
            time.sleep(0.5)
            now = self.counts()
            if now["stats"] == last["stats"]:
                return now
            last = now

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
