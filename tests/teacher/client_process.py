"""A teacher client in its own process, for kill/resume tests: ``python client_process.py job.json``."""

import json
import logging
import sys

import pandas as pd

from lamini_lm.teacher import complete

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    job = json.loads(open(sys.argv[1]).read())
    requests = pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(len(job["texts"]))],
            "messages": [[{"role": "user", "content": t}] for t in job["texts"]],
        }
    )
    complete(requests, job["settings"])
