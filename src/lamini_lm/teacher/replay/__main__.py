"""Run the replay teacher as its own process: ``python -m lamini_lm.teacher.replay --port 8765``.

Settings are conf/<env>'s ``teacher.replay`` (``--env``, default base); the flags override them.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal

from lamini_lm.teacher.config import ReplaySettings
from lamini_lm.teacher.replay import conf_replay_settings, corpus_from_settings
from lamini_lm.teacher.replay.faults import ReplayConfig
from lamini_lm.teacher.replay.server import ReplayServer


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="LaMini-LM replay teacher (recorded real outputs; not a model).")
    parser.add_argument("--env", default="base", help="the conf/ environment whose teacher.replay to use")
    parser.add_argument("--host")
    parser.add_argument("--port", type=int)
    parser.add_argument("--latency-ms", type=float)
    parser.add_argument("--rate-429", type=float)
    parser.add_argument("--rate-500", type=float)
    parser.add_argument("--rate-malformed", type=float, help="share answered with a truncated JSON body")
    parser.add_argument("--rate-length", type=float, help="share of answers cut in half (finish_reason=length)")
    parser.add_argument("--retry-after-s", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    flags = {k: getattr(args, k) for k in ("host", "port", "latency_ms", "seed")}
    fault_flags = {
        k: getattr(args, k) for k in ("rate_429", "rate_500", "rate_malformed", "rate_length", "retry_after_s")
    }
    conf = conf_replay_settings(args.env).model_dump()
    settings = ReplaySettings.model_validate(
        {
            **conf,
            **{k: v for k, v in flags.items() if v is not None},
            "faults": {**conf["faults"], **{k: v for k, v in fault_flags.items() if v is not None}},
        }
    )
    host, port = settings.host, settings.port
    config = ReplayConfig(latency_ms=settings.latency_ms, faults=settings.faults, seed=settings.seed)
    server = ReplayServer(corpus_from_settings(settings), config)

    async def run() -> None:
        bound = await server.start(host, port)
        if args.port_file:
            tmp = f"{args.port_file}.tmp"
            with open(tmp, "w") as handle:
                handle.write(str(bound))
            os.replace(tmp, args.port_file)
        logging.getLogger(__name__).info("Replay teacher on http://%s:%d/v1", host, bound)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        await server.stop()

    asyncio.run(run())


if __name__ == "__main__":
    main()
