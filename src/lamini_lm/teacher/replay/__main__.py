"""Run the replay teacher as its own process: ``python -m lamini_lm.teacher.replay --port 8765``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from lamini_lm.teacher.config import Faults, ReplaySettings
from lamini_lm.teacher.replay import corpus_from_settings
from lamini_lm.teacher.replay.server import ReplayConfig, ReplayServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="LaMini-LM replay teacher (recorded real outputs; not a model).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-429", type=float, default=0.0)
    parser.add_argument("--rate-500", type=float, default=0.0)
    parser.add_argument("--retry-after-s", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    faults = Faults(rate_429=args.rate_429, rate_500=args.rate_500, retry_after_s=args.retry_after_s)
    server = ReplayServer(
        corpus_from_settings(ReplaySettings()), ReplayConfig(latency_ms=args.latency_ms, faults=faults, seed=args.seed)
    )

    async def run() -> None:
        port = await server.start(args.host, args.port)
        if args.port_file:
            tmp = f"{args.port_file}.tmp"
            with open(tmp, "w") as handle:
                handle.write(str(port))
            os.replace(tmp, args.port_file)
        logging.getLogger(__name__).info("Replay teacher on http://%s:%d/v1", args.host, port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
