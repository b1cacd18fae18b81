"""A teacher client in its own process, for kill/resume tests: ``python client_process.py job.json``."""

import json
import logging
import signal
import sys

import pandas as pd

from lamini_lm.teacher import complete

if __name__ == "__main__":
    # Ctrl-C as from a terminal, even when the tests run as a background job (which starts its children
    # with SIGINT ignored; the teacher leaves an ignored SIGINT alone, as `nohup` asks).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO)
    job = json.loads(open(sys.argv[1]).read())
    requests = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(len(job["texts"]))],
            "messages": [[{"role": "user", "content": t}] for t in job["texts"]],
        }
    )
    complete(requests, job["settings"])
