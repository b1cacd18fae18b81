"""Fault soak: the teacher over 5,000 requests against a faulty replay teacher, killed and interrupted.

The replay server (its own process, 100 ms latency) injects 5 % 429 (Retry-After 1 s), 3 % 500,
2 % malformed bodies (truncated JSON) and 2 % truncated answers (cut in half, finish_reason=length;
an answer, kept as such). The client (``complete()`` with conf/base's retries, concurrency 64, a
fresh SQLite cache, gpt-3.5-turbo-0125 prices) runs in a subprocess that is SIGKILLed twice and
interrupted once (SIGINT) at random points, and resumed each time until everything is answered.
The server counts every answer it sends, whether or not the client is still there (``GET /_stats``).

Prints, per stop: the requests the server had answered before it, those it answered again after
the resume (paid twice) and their cost, and what the resumed run was told (requests marked in
flight with no committed answer); then answered / failed / answered twice in total, and the wall
time against a fault-free run and a run with the same faults but no stops.

``python benchmarks/fault_soak.py [--requests N] [--seed S]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402
from common.replay_process import ReplayProcess  # noqa: E402

from lamini_lm.parameters import load_parameters  # noqa: E402
from lamini_lm.teacher import TeacherSettings, complete  # noqa: E402
from lamini_lm.teacher.replay import corpus_from_settings  # noqa: E402

FAULTS = {"rate_429": 0.05, "rate_500": 0.03, "rate_malformed": 0.02, "rate_length": 0.02}
PRICE = {"input_per_million": 0.50, "output_per_million": 1.50, "batch_discount": 0.5}  # gpt-3.5-turbo-0125


def settings(base_url: str, cache: Path, concurrency: int) -> TeacherSettings:
    conf = load_parameters("base")["teacher"]
    return TeacherSettings.model_validate(
        {**conf, "base_url": base_url, "cache_path": str(cache), "max_concurrency": concurrency}
        | {"progress": False, "price": PRICE}
    )


def requests_for(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(len(texts))],
            "messages": [[{"role": "user", "content": t}] for t in texts],
        }
    )


def committed(cache: Path) -> int:
    if not cache.exists():
        return 0
    try:
        with sqlite3.connect(cache, timeout=10) as db:
            return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    except sqlite3.OperationalError:
        return 0


def in_flight_left(cache: Path) -> int:
    with sqlite3.connect(cache, timeout=10) as db:
        return db.execute("SELECT COUNT(*) FROM in_flight WHERE key NOT IN (SELECT key FROM results)").fetchone()[0]


def costs(cache: Path) -> dict[str, float]:
    with sqlite3.connect(cache, timeout=10) as db:
        return {key: json.loads(payload)["cost_usd"] for key, payload in db.execute("SELECT key, payload FROM results")}


def child(job_path: str) -> None:
    # Ctrl-C as from a terminal, even when this benchmark runs as a background job (which starts its
    # children with SIGINT ignored; the teacher leaves an ignored SIGINT alone, as `nohup` asks).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    job = json.loads(Path(job_path).read_text())
    out = complete(requests_for(job["texts"]), job["settings"])
    report = {k: v for k, v in out.attrs["teacher"].items() if k != "possibly_paid_twice_keys"}
    report |= {"answered": int(out["error_kind"].isna().sum()), "failed": int(out["error_kind"].notna().sum())}
    Path(job_path + ".out").write_text(json.dumps(report))


def start(job: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, __file__, "--child", str(job)],
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.DEVNULL,
        stderr=open(f"{job}.log", "a"),
    )


def plain_run(texts: list[str], latency_ms: float, faults: dict, concurrency: int) -> tuple[float, dict]:
    server = ReplayProcess(latency_ms, **faults)
    try:
        job = Path(tempfile.mkdtemp()) / "job.json"
        job.write_text(
            json.dumps(
                {
                    "texts": texts,
                    "settings": settings(server.base_url, job.with_suffix(".sqlite"), concurrency).model_dump(),
                }
            )
        )
        started = time.perf_counter()
        assert start(job).wait() == 0, Path(f"{job}.log").read_text()[-2000:]
        return time.perf_counter() - started, json.loads(Path(f"{job}.out").read_text())
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    rng = random.Random(args.seed)
    replay = TeacherSettings.model_validate(load_parameters("base")["teacher"]).replay
    texts = corpus_from_settings(replay).pool[: args.requests]
    n = len(texts)
    print(
        f"{n} requests, concurrency {args.concurrency}, latency {args.latency_ms:.0f} ms, faults {FAULTS}", flush=True
    )
    clean_s, _ = plain_run(texts, args.latency_ms, {}, args.concurrency)
    print(f"fault-free run: {clean_s:.1f} s", flush=True)
    faulty_s, faulty = plain_run(texts, args.latency_ms, FAULTS, args.concurrency)
    print(f"faults, no stops: {faulty_s:.1f} s, answered {faulty['answered']}, failed {faulty['failed']}", flush=True)

    server = ReplayProcess(args.latency_ms, **FAULTS)
    try:
        job = Path(tempfile.mkdtemp()) / "job.json"
        cache = job.with_suffix(".sqlite")
        job.write_text(
            json.dumps({"texts": texts, "settings": settings(server.base_url, cache, args.concurrency).model_dump()})
        )
        stops = [
            ("SIGKILL", signal.SIGKILL, rng.uniform(0.10, 0.30)),
            ("SIGKILL", signal.SIGKILL, rng.uniform(0.40, 0.60)),
            ("SIGINT", signal.SIGINT, rng.uniform(0.70, 0.85)),
        ]
        started = time.perf_counter()
        snapshots, told = [], []
        for name, sig, at in stops:
            proc = start(job)
            while committed(cache) < at * n and proc.poll() is None:
                time.sleep(0.01)
            proc.send_signal(sig)
            code = proc.wait(120)
            snapshots.append(server.settle()["answered"])
            told.append(in_flight_left(cache))
            print(f"{name} at {committed(cache)} committed (target {at:.0%}): exit {code}", flush=True)
        proc = start(job)
        assert proc.wait() == 0, Path(f"{job}.log").read_text()[-2000:]
        total_s = time.perf_counter() - started
        final = server.settle()["answered"]
        report = json.loads(Path(f"{job}.out").read_text())
        paid = costs(cache)
    finally:
        server.stop()

    # A key answered twice lost its first answer at the first stop after that answer (committed answers
    # are never sent again): attribute it there.
    twice = [k for k, count in final.items() if count > 1]
    first_stop = {k: next(i for i, snap in enumerate(snapshots) if snap.get(k, 0) >= 1) for k in twice}
    rows = []
    for i, ((name, _, _), before, marked) in enumerate(zip(stops, snapshots, told)):
        mine = [k for k in twice if first_stop[k] == i]
        rows.append(
            {
                "stop": name,
                "answered_before": sum(1 for c in before.values() if c),
                "answered_twice": len(mine),
                "cost_paid_twice_usd": round(sum(paid.get(k, 0.0) for k in mine), 6),
                "resume_told_possibly_paid": marked,
            }
        )
    print(pd.DataFrame(rows).to_string(index=False))
    twice_total = sum(1 for c in final.values() if c > 1)
    summary = {
        "requests": n,
        "answered": report["answered"],
        "failed": report["failed"],
        "answered_twice": twice_total,
        "answered_twice_sigkill": sum(r["answered_twice"] for r in rows if r["stop"] == "SIGKILL"),
        "answered_twice_sigint": sum(r["answered_twice"] for r in rows if r["stop"] == "SIGINT"),
        "cost_paid_twice_usd": round(sum(r["cost_paid_twice_usd"] for r in rows), 6),
        "cost_total_usd": round(sum(paid.values()), 4),
        "wall_fault_free_s": round(clean_s, 1),
        "wall_faults_no_stops_s": round(faulty_s, 1),
        "wall_faults_and_stops_s": round(total_s, 1),
        "ratio_faults_to_fault_free": round(faulty_s / clean_s, 2),
        "ratio_stops_to_fault_free": round(total_s / clean_s, 2),
        "load_average_after": os.getloadavg(),
    }
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
