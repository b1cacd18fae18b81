"""Teacher throughput: 5,000 requests to the replay teacher (100 ms latency) at concurrency 64.

The replay server runs in a separate process; both processes' CPU time is reported. Runs:
  1. baseline — a bare aiohttp client (no retries, cache, budget or openai client) in this process;
  2. teacher  — ``lamini_lm.teacher.complete`` (default ``transport: aiohttp``: the AsyncOpenAI
     client's URL and headers over one aiohttp session; limiter, budget, SQLite cache commits);
  3. the same with ``transport: sdk`` (every request through ``AsyncOpenAI.post``);
  4. the same with ``client_processes: 2`` (wall time includes starting the two workers);
  5. teacher with 2% injected 429s (Retry-After 1 s): every request must still be answered.
Prints achieved requests/s, the ideal (concurrency / latency), their ratio, the ratio to the
baseline, and CPU per request. ``python benchmarks/teacher_throughput.py [--requests N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import aiohttp  # noqa: E402
import pandas as pd  # noqa: E402

import lamini_lm.teacher.client  # noqa: E402,F401 - imported (openai) before any timing
from lamini_lm.parameters import load_parameters  # noqa: E402
from lamini_lm.teacher import TeacherSettings, complete  # noqa: E402
from lamini_lm.teacher.replay import corpus_from_settings  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Server:
    """``python -m lamini_lm.teacher.replay`` in its own process."""

    def __init__(self, latency_ms: float, rate_429: float = 0.0, retry_after_s: float = 1.0):
        self.port_file = Path(tempfile.mkdtemp()) / "port"
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "lamini_lm.teacher.replay",
                "--port",
                "0",
                "--port-file",
                str(self.port_file),
                "--latency-ms",
                str(latency_ms),
                "--rate-429",
                str(rate_429),
                "--retry-after-s",
                str(retry_after_s),
            ],
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
        self.base_url = f"http://127.0.0.1:{self.port_file.read_text()}/v1"

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def bare_client(base_url: str, bodies: list[dict], concurrency: int) -> int:
    ok = 0
    queue = list(reversed(bodies))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            nonlocal ok
            while queue:
                async with session.post(f"{base_url}/chat/completions", json=queue.pop()) as response:
                    data = await response.json()
                    ok += response.status == 200 and bool(data["choices"][0]["message"]["content"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return ok


def client_cpu() -> float:
    """CPU of this process plus its reaped children (the ``client_processes`` workers)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def teacher_settings(**overrides) -> TeacherSettings:
    """conf/base's ``teacher`` with top-level ``overrides``."""
    return TeacherSettings.model_validate({**load_parameters("base")["teacher"], **overrides})


def answered_by(frame: pd.DataFrame, settings: TeacherSettings, out: dict):
    """A run of ``complete`` for :func:`measure`: keeps its results in ``out["frame"]``, returns answers."""

    def run() -> int:
        out["frame"] = complete(frame, settings)
        return int(out["frame"]["error_kind"].isna().sum())

    return run


def measure(name: str, server: Server, fn, n: int, ideal: float, baseline: float | None) -> dict:
    cpu_client, cpu_server, started = client_cpu(), server.cpu(), time.perf_counter()
    ok = fn()
    wall = time.perf_counter() - started
    cpu_client, cpu_server = client_cpu() - cpu_client, server.cpu() - cpu_server
    rate = n / wall
    row = {
        "run": name,
        "requests": n,
        "answered": ok,
        "wall_s": round(wall, 2),
        "req_per_s": round(rate, 1),
        "ideal_req_per_s": round(ideal, 1),
        "ratio_to_ideal": round(rate / ideal, 3),
        "ratio_to_baseline": round(rate / baseline, 3) if baseline else 1.0,
        "client_cpu_ms_per_req": round(1000 * cpu_client / n, 3),
        "server_cpu_ms_per_req": round(1000 * cpu_server / n, 3),
        "client_cpu_util": round(cpu_client / wall, 2),
        "server_cpu_util": round(cpu_server / wall, 2),
        # What one client process could sustain with a whole core to itself (load-independent).
        "client_one_core_ceiling_req_per_s": round(n / cpu_client, 1) if cpu_client else None,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--rate-429", type=float, default=0.02)
    args = parser.parse_args()
    n, conc, latency = args.requests, args.concurrency, args.latency_ms
    ideal = conc / (latency / 1000)
    texts = corpus_from_settings(teacher_settings().replay).pool[:n]
    if len(texts) < n:
        raise SystemExit(f"the replay corpus has {len(texts)} generation-pool instructions; ask for fewer")
    frame = pd.DataFrame(
        {"request_id": [f"q{i}" for i in range(n)], "messages": [[{"role": "user", "content": t}] for t in texts]}
    )
    print(f"load average before: {os.getloadavg()}; cpus: {os.cpu_count()}", flush=True)
    rows = []
    server = Server(latency)
    try:
        bodies = [
            {"model": "gpt-3.5-turbo", "messages": m, "max_tokens": 512, "temperature": 0.7} for m in frame["messages"]
        ]
        base = measure(
            "baseline_bare_aiohttp",
            server,
            lambda: asyncio.run(bare_client(server.base_url, bodies, conc)),
            n,
            ideal,
            None,
        )
        rows.append(base)
        with tempfile.TemporaryDirectory() as tmp:
            settings = teacher_settings(
                base_url=server.base_url,
                max_concurrency=conc,
                progress=False,
                cache_path=f"{tmp}/cache.sqlite",
                timeout_s=30,
            )
            out = {}
            rows.append(
                measure("teacher_complete", server, answered_by(frame, settings, out), n, ideal, base["req_per_s"])
            )
            settings_sdk = settings.model_copy(update={"cache_path": f"{tmp}/cache_sdk.sqlite", "transport": "sdk"})
            rows.append(
                measure(
                    "teacher_complete_sdk_transport",
                    server,
                    answered_by(frame, settings_sdk, out),
                    n,
                    ideal,
                    base["req_per_s"],
                )
            )
            settings_mp = settings.model_copy(update={"cache_path": f"{tmp}/cache_mp.sqlite", "client_processes": 2})
            row = measure(
                "teacher_complete_2_processes",
                server,
                answered_by(frame, settings_mp, out),
                n,
                ideal,
                base["req_per_s"],
            )
            row["note"] = "client CPU includes both workers (and their start-up imports)"
            rows.append(row)
    finally:
        server.stop()
    server = Server(latency, rate_429=args.rate_429, retry_after_s=1.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            settings = teacher_settings(
                base_url=server.base_url,
                max_concurrency=conc,
                progress=False,
                cache_path=f"{tmp}/cache.sqlite",
                timeout_s=30,
            )
            out = {}
            row = measure(
                f"teacher_{args.rate_429:.0%}_429",
                server,
                answered_by(frame, settings, out),
                n,
                ideal,
                base["req_per_s"],
            )
            retried = int((out["frame"]["attempts"] > 1).sum())
            row["requests_retried"] = retried
            row["lost"] = n - row["answered"]
            print(json.dumps({"run": row["run"], "requests_retried": retried, "lost": row["lost"]}), flush=True)
            rows.append(row)
    finally:
        server.stop()
    print(f"load average after: {os.getloadavg()}", flush=True)
    pd.set_option("display.width", 250)
    print(pd.DataFrame(rows).to_string(index=False))
    if rows[-1]["lost"]:
        raise SystemExit(f"{rows[-1]['lost']} requests lost under 429s")


if __name__ == "__main__":
    main()
