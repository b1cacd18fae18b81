"""Teacher throughput: ``complete()`` against what users would pick instead, same requests, same server.

The replay teacher (``python -m lamini_lm.teacher.replay``, 100 ms injected latency) runs in its own
process; every runner sends the same distinct chat requests (recorded LaMini instructions, one user
message each, ``max_tokens`` 512, temperature 0.7) at each concurrency (default 64, then 256):

  ours                 ``lamini_lm.teacher.complete`` (conf/base's teacher, fresh SQLite cache)
  ours_sdk, ours_2_processes  (only when named in ``--runners``) the same with ``transport: sdk``
                       or ``client_processes: 2`` (its wall and CPU include starting the workers)
  bare_aiohttp         a bare aiohttp client: no retries, cache or SDK (what the machine allows)
  async_openai         plain ``AsyncOpenAI().chat.completions.create`` under an ``asyncio.Semaphore``
  curator              bespokelabs-curator's ``LLM`` (peers' venv, ``peers/teacher_curator.py``)
  distilabel_llm       distilabel's ``OpenAILLM.generate_outputs`` per batch (``peers/teacher_distilabel_llm.py``)
  distilabel_pipeline  a distilabel ``Pipeline`` with ``TextGeneration`` (``peers/teacher_distilabel_pipeline.py``)

The first three run in this process; the peers run as subprocesses of ``--peers-python`` (``make
bench-peers`` builds ``.venv-bench``); a peer that is not installed is reported as such. Runners are
interleaved (the order rotates each repetition) and repeated (``--repetitions``, default 3): the
table gives the median and the spread (min-max) of requests/s, the ratio to the ideal
(concurrency / latency) and to ours, and the client CPU per request (its CPU seconds in the timed
window, all threads plus reaped worker processes; start-up imports excluded). Then one run of ours
with 2 % injected 429s checks that nothing is lost.

    .venv/bin/python benchmarks/teacher_throughput.py [--requests 2000] [--concurrency 64 256]
        [--repetitions 3] [--peers-python .venv-bench/bin/python] [--runners ours curator ...]

Targets (issue 15): ours >= 0.9 of ideal at concurrency 64, >= 1.5x the best peer at 256.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import aiohttp  # noqa: E402
import openai  # noqa: E402
import pandas as pd  # noqa: E402
from common.replay_process import ReplayProcess  # noqa: E402
from peers import add_peers_python_argument, run_peer  # noqa: E402
from peers.protocol import Window  # noqa: E402

import lamini_lm.teacher.client  # noqa: E402,F401 - imported (openai) before any timing
from lamini_lm.parameters import load_parameters  # noqa: E402
from lamini_lm.teacher import TeacherSettings, complete  # noqa: E402
from lamini_lm.teacher.replay import corpus_from_settings  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")
MODEL, MAX_TOKENS, TEMPERATURE = "gpt-3.5-turbo", 512, 0.7
OURS = {"ours": {}, "ours_sdk": {"transport": "sdk"}, "ours_2_processes": {"client_processes": 2}}
IN_PROCESS = (*OURS, "bare_aiohttp", "async_openai")
PEER_SCRIPTS = {
    "curator": "teacher_curator.py",
    "distilabel_llm": "teacher_distilabel_llm.py",
    "distilabel_pipeline": "teacher_distilabel_pipeline.py",
}
RUNNERS = (*IN_PROCESS, *PEER_SCRIPTS)
DEFAULT_RUNNERS = [r for r in RUNNERS if r not in ("ours_sdk", "ours_2_processes")]
PEERS = ("async_openai", *PEER_SCRIPTS)  # what users would pick instead (bare_aiohttp is a floor, not a peer)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Server(ReplayProcess):
    """The replay server (``common.replay_process``) and its process's CPU time."""

    def __init__(self, latency_ms: float, rate_429: float = 0.0, retry_after_s: float = 1.0):
        super().__init__(latency_ms, retry_after_s, rate_429=rate_429)

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)


def teacher_settings(**overrides) -> TeacherSettings:
    """conf/base's ``teacher`` with top-level ``overrides``."""
    return TeacherSettings.model_validate({**load_parameters("base")["teacher"], **overrides})


def run_ours(
    base_url: str, prompts: list[str], concurrency: int, work: Path, **overrides
) -> tuple[list, Window, pd.DataFrame]:
    settings = teacher_settings(
        **overrides,
        base_url=base_url,
        model=MODEL,
        max_tokens=MAX_TOKENS,
        temperature=TEMPERATURE,
        max_concurrency=concurrency,
        progress=False,
        cache_path=str(work / "cache.sqlite"),
        timeout_s=30,
    )
    frame = pd.DataFrame(
        {
            "request_id": [f"q{i}" for i in range(len(prompts))],
            "messages": [[{"role": "user", "content": p}] for p in prompts],
        }
    )
    with Window() as window:
        result = complete(frame, settings)
    return result["text"].where(result["error_kind"].isna()).tolist(), window, result


async def _bare_aiohttp(base_url: str, prompts: list[str], concurrency: int) -> list:
    answers: list = [None] * len(prompts)
    queue = list(reversed(range(len(prompts))))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency)) as session:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                body = {
                    "model": MODEL,
                    "messages": [{"role": "user", "content": prompts[i]}],
                    "max_tokens": MAX_TOKENS,
                    "temperature": TEMPERATURE,
                }
                async with session.post(f"{base_url}/chat/completions", json=body) as response:
                    data = await response.json()
                    if response.status == 200:
                        answers[i] = data["choices"][0]["message"]["content"]

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return answers


async def _async_openai(base_url: str, prompts: list[str], concurrency: int) -> list:
    """The plain SDK way: one ``chat.completions.create`` per prompt under a semaphore."""
    semaphore = asyncio.Semaphore(concurrency)
    async with openai.AsyncOpenAI(base_url=base_url, api_key="replay", max_retries=0, timeout=60) as client:

        async def one(prompt: str) -> str | None:
            async with semaphore:
                reply = await client.chat.completions.create(
                    model=MODEL,
                    messages=[{"role": "user", "content": prompt}],
                    max_tokens=MAX_TOKENS,
                    temperature=TEMPERATURE,
                )
                return reply.choices[0].message.content

        return await asyncio.gather(*(one(p) for p in prompts))


def run_in_process(name: str, base_url: str, prompts: list[str], concurrency: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        if name in OURS:
            answers, window, _ = run_ours(base_url, prompts, concurrency, Path(tmp), **OURS[name])
            settings = teacher_settings(**OURS[name])
            runner = (
                f"lamini_lm complete() (transport: {settings.transport}, client_processes: {settings.client_processes})"
            )
            versions = f"openai {openai.__version__}, aiohttp {aiohttp.__version__}"
        else:
            coroutine = _bare_aiohttp if name == "bare_aiohttp" else _async_openai
            with Window() as window:
                answers = asyncio.run(coroutine(base_url, prompts, concurrency))
            runner = "bare aiohttp" if name == "bare_aiohttp" else "AsyncOpenAI + Semaphore"
            versions = f"aiohttp {aiohttp.__version__}" if name == "bare_aiohttp" else f"openai {openai.__version__}"
    answered = sum(1 for a in answers if isinstance(a, str) and a.strip())
    return {
        "status": "ok",
        "runner": runner,
        "version": versions,
        "requests": len(prompts),
        "answered": answered,
        "wall_s": window.wall_s,
        "cpu_s": window.cpu_s,
    }


def run_one(name: str, server: Server, prompts_file: Path, prompts: list[str], concurrency: int, args) -> dict:
    server_cpu = server.cpu()
    if name in IN_PROCESS:
        row = run_in_process(name, server.base_url, prompts, concurrency)
    else:
        with tempfile.TemporaryDirectory() as work:
            row = run_peer(
                args.peers_python,
                PEER_SCRIPTS[name],
                [
                    "--base-url",
                    server.base_url,
                    "--prompts",
                    prompts_file,
                    "--concurrency",
                    concurrency,
                    "--model",
                    MODEL,
                    "--max-tokens",
                    MAX_TOKENS,
                    "--temperature",
                    TEMPERATURE,
                    "--work-dir",
                    work,
                ],
                timeout_s=args.peer_timeout_s,
            )
    row = {"name": name, "concurrency": concurrency, **row, "server_cpu_s": server.cpu() - server_cpu}
    if row["status"] == "ok":
        n = row["requests"]
        row["req_per_s"] = n / row["wall_s"]
        row["client_cpu_ms_per_req"] = 1000 * row["cpu_s"] / n
        row["server_cpu_ms_per_req"] = 1000 * row["server_cpu_s"] / n
        if row["answered"] != n:
            row["status"] = f"incomplete: {row['answered']}/{n} answered"
    print(json.dumps(row), flush=True)
    return row


def spread(values: list[float], digits: int) -> str:
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{statistics.median(values):.{digits}f} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def summarise(rows: list[dict], concurrency: int, ideal: float) -> tuple[pd.DataFrame, dict[str, float]]:
    """One line per runner at ``concurrency``: medians and spreads over the repetitions."""
    lines, medians = [], {}
    for name in dict.fromkeys(r["name"] for r in rows if r["concurrency"] == concurrency):
        runs = [r for r in rows if r["concurrency"] == concurrency and r["name"] == name]
        ok = [r for r in runs if r["status"] == "ok"]
        failed = sorted({r["status"] for r in runs if r["status"] != "ok"})
        if not ok:
            lines.append({"runner": name, "what": runs[0].get("runner", ""), "status": "; ".join(failed)})
            continue
        rates = [r["req_per_s"] for r in ok]
        medians[name] = statistics.median(rates)
        lines.append(
            {
                "runner": name,
                "what": ok[0]["runner"],
                "versions": ok[0]["version"],
                "runs": str(len(ok)),
                "req_per_s": spread(rates, 1),
                "ratio_to_ideal": spread([x / ideal for x in rates], 3),
                "client_cpu_ms_per_req": spread([r["client_cpu_ms_per_req"] for r in ok], 2),
                "server_cpu_ms_per_req": spread([r["server_cpu_ms_per_req"] for r in ok], 2),
                "status": "ok" if not failed else "ok; also " + "; ".join(failed),
            }
        )
    ours = medians.get("ours")
    for line in lines:
        if ours and line["runner"] in medians:
            line["ratio_to_ours"] = f"{medians[line['runner']] / ours:.3f}"
    table = pd.DataFrame(lines).astype(object)
    return table.where(table.notna(), ""), medians


def check_429s(args, prompts: list[str]) -> dict:
    """Ours against a server that answers 2 % of requests with 429 (Retry-After 1 s): nothing lost."""
    server = Server(args.latency_ms, rate_429=args.rate_429, retry_after_s=1.0)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            answers, window, result = run_ours(server.base_url, prompts, args.concurrency[0], Path(tmp))
            wall = time.perf_counter() - started
    finally:
        server.stop()
    row = {
        "name": f"ours_{args.rate_429:.0%}_429",
        "concurrency": args.concurrency[0],
        "requests": len(prompts),
        "answered": sum(1 for a in answers if isinstance(a, str) and a.strip()),
        "requests_retried": int((result["attempts"] > 1).sum()),
        "req_per_s": round(len(prompts) / wall, 1),
        "client_cpu_ms_per_req": round(1000 * window.cpu_s / len(prompts), 3),
    }
    row["lost"] = row["requests"] - row["answered"]
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--repetitions", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--runners", nargs="+", choices=RUNNERS, default=DEFAULT_RUNNERS)
    parser.add_argument("--rate-429", type=float, default=0.02, help="the final 429 check's rate (0: skip it)")
    parser.add_argument("--peer-timeout-s", type=float, default=600)
    add_peers_python_argument(parser)
    args = parser.parse_args()
    n = args.requests
    prompts = corpus_from_settings(teacher_settings().replay).pool[:n]
    if len(prompts) < n:
        raise SystemExit(f"the replay corpus has {len(prompts)} generation-pool instructions; ask for fewer")
    started = datetime.datetime.now(datetime.UTC)
    print(f"{started:%Y-%m-%d %H:%M} UTC; load average before: {os.getloadavg()}; cpus: {os.cpu_count()}", flush=True)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        prompts_file = Path(tmp) / "prompts.json"
        prompts_file.write_text(json.dumps(prompts), encoding="utf-8")
        server = Server(args.latency_ms)
        try:
            for concurrency in args.concurrency:
                for rep in range(args.repetitions):
                    shift = rep % len(args.runners)
                    for name in args.runners[shift:] + args.runners[:shift]:
                        rows.append(run_one(name, server, prompts_file, prompts, concurrency, args))
        finally:
            server.stop()
    checked = check_429s(args, prompts) if args.rate_429 > 0 else None
    print(f"load average after: {os.getloadavg()}", flush=True)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_colwidth", 60)
    for concurrency in args.concurrency:
        ideal = concurrency / (args.latency_ms / 1000)
        table, medians = summarise(rows, concurrency, ideal)
        print(
            f"\n== concurrency {concurrency}: {n} requests, {args.latency_ms:.0f} ms latency, ideal {ideal:.0f} req/s"
        )
        print(table.to_string(index=False))
        if "ours" in medians:
            print(f"ours: {medians['ours'] / ideal:.3f} of ideal", end="")
            peers = {k: v for k, v in medians.items() if k in PEERS}
            if peers:
                best = max(peers, key=peers.get)
                print(f"; {medians['ours'] / peers[best]:.2f}x the best peer ({best})")
            else:
                print("; no peer measured")
    if checked and checked["lost"]:
        raise SystemExit(f"{checked['lost']} requests lost under 429s")


if __name__ == "__main__":
    main()
