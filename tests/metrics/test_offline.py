"""The package's metrics load offline: with the hub's offline variables set and every network connection
refused, in a fresh process with an empty modules cache, each module loads by path and computes; a
second load reuses the copy of the script that the first one put into the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

SCRIPT = r"""
import json, os, socket, sys, time

def refuse(*args, **kwargs):
    raise OSError("network access attempted")

socket.socket.connect = refuse
socket.create_connection = refuse

from lamini_lm import metrics

first, again = {}, {}
for name in metrics.NAMES:
    start = time.perf_counter()
    metrics.load(name)
    first[name] = time.perf_counter() - start
for name in metrics.NAMES:
    start = time.perf_counter()
    metrics.load(name)
    again[name] = time.perf_counter() - start
copies = {
    name: sorted(os.listdir(os.path.join(os.environ["HF_MODULES_CACHE"], "evaluate_modules", "metrics", name)))
    for name in metrics.NAMES
}
value = metrics.load("mattr").compute(data=["a b a c b"], window=3)["mattr"]
print(json.dumps({"first": first, "again": again, "copies": copies, "mattr": value}))
"""


def test_every_module_loads_and_computes_offline_with_no_network(tmp_path, project_root):
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_HOME": str(tmp_path / "hf"),
        "HF_MODULES_CACHE": str(tmp_path / "modules"),
        "PYTHONPATH": os.pathsep.join([str(project_root / "src"), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], check=False, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert abs(result["mattr"] - 8 / 9) < 1e-12
    for name, entries in result["copies"].items():
        hashes = [e for e in entries if not e.startswith("__") and not e.endswith(".lock")]
        assert len(hashes) == 1, f"{name}: the script was copied more than once ({entries})"
    assert max(result["again"].values()) < 1.0, result["again"]  # a cached load takes milliseconds
