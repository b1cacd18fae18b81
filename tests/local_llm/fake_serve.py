"""A stand-in for ``transformers serve`` in fast tests: the same arguments, an OpenAI-shaped answer.

``fake_serve.py <served name> --host H --port P [--mode ok|exit|hang]``. Like transformers serve
with a local model, it needs ``<served name>`` to be a model folder under its working directory.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("name")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--mode", default="ok")
    args, _ = parser.parse_known_args()
    if args.mode == "exit":
        sys.stderr.write("fake serve: cannot load the model (on purpose)" + "\n")
        sys.stderr.flush()
        sys.exit(3)
    if args.mode == "hang":
        sys.stderr.write("fake serve: loading forever" + "\n")
        sys.stderr.flush()
        time.sleep(600)
    if not (Path(args.name) / "config.json").is_file():
        sys.stderr.write(f"fake serve: {args.name} is not a model folder" + "\n")
        sys.stderr.flush()
        sys.exit(4)
    name = args.name

    class Handler(BaseHTTPRequestHandler):
        def _send(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/v1/models":
                self._send({"object": "list", "data": [{"id": name, "object": "model"}]})
            else:
                self._send({"status": "ok"})

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["content-length"])))
            text = "echo: " + body["messages"][-1]["content"]
            self._send(
                {
                    "model": name,
                    "choices": [
                        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                    ],
                    "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                }
            )

        def log_message(self, *args) -> None:
            pass

    ThreadingHTTPServer((args.host, args.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
