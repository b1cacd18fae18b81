"""The distillation pipeline's non-teacher nodes at the paper's size (2.58M rows), from real data.

Rows are the bundled real LaMini-instruction (gpt-3.5-turbo) and Alpaca rows, replicated with a
numbered variant suffix (so they stay distinct) and tagged with the paper's seven
instruction_source values; 2% of the pool repeats an earlier instruction. Teacher results are
simulated from the real responses (1% failures, 1% cut by max_tokens, the real refusals kept).
Each node gets what Kedro would hand it (e.g. cleaning gets the full request table, messages
included); the script frees everything else between nodes.

Prints wall time and peak RSS (process total, sampled every 20 ms) per node, for the full size
and for a baseline at a tenth of it run first in the same process; the ratio shows how each node
scales (10.0 = linear). Targets (issue 5): the whole chain <= 8 GB peak and <= 15 min.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/distillation_scale.py [--rows 2580000] [--baseline-rows 258000]
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import common.offline  # noqa: E402, F401  (the offline defaults, before the imports below)

# isort: split

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from lamini_lm.datasets.distilled_records import DistilledRecordsDataset  # noqa: E402
from lamini_lm.datasets.hf_export import HFDatasetExport  # noqa: E402
from lamini_lm.parameters import load_parameters  # noqa: E402
from lamini_lm.pipelines.distillation import analysis  # noqa: E402
from lamini_lm.pipelines.distillation.assemble import assemble_lamini_dataset  # noqa: E402
from lamini_lm.pipelines.distillation.cleaning import clean_teacher_answers  # noqa: E402
from lamini_lm.pipelines.distillation.export import export_hf_dataset  # noqa: E402
from lamini_lm.pipelines.distillation.imports import import_published  # noqa: E402
from lamini_lm.pipelines.distillation.nodes import build_requests  # noqa: E402
from lamini_lm.pipelines.distillation.params import DistillationParams  # noqa: E402

SOURCES = [
    "alpaca",
    "self_instruct_without_topic",
    "self_instruct_with_topic",
    "original_p3",
    "generated_p3",
    "original_flan",
    "generated_flan",
]
RAW = ROOT / "data" / "01_raw" / "distilled"
PARAMS = DistillationParams.model_validate(
    load_parameters("base")["distillation"]
)  # conf/base, as `kedro run` reads it


def _rss_bytes() -> int:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class Meter:
    """Wall time and peak RSS of one block (a sampling thread reads /proc/self/statm)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss_bytes())
            self._stop.wait(0.02)

    def __enter__(self) -> Meter:
        gc.collect()
        self.start_rss = self.peak = _rss_bytes()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        self.t0 = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.t0
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def real_pairs() -> pd.DataFrame:
    lamini = import_published(
        DistilledRecordsDataset(filepath=str(RAW / "lamini/lamini_instruction_10k_fmengine.jsonl")).load(),
        PARAMS.imports["lamini"],
    )
    alpaca = import_published(
        DistilledRecordsDataset(filepath=str(RAW / "alpaca/alpaca_data_first1727_text-davinci-003.json")).load(),
        PARAMS.imports["alpaca"],
    )
    return pd.concat([lamini, alpaca], ignore_index=True)


def make_base(base: pd.DataFrame, rows: int, seed: int = 0) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Instructions (distinct variants, 2% repeated), their real responses and source tags."""
    rng = np.random.default_rng(seed)
    take = np.arange(rows) % len(base)
    variant = np.arange(rows) // len(base)
    suffix = pd.Series(
        np.where(variant > 0, " (variant " + variant.astype(str).astype(object) + ")", ""), dtype="string"
    )
    instructions = pd.Series(base["instruction"].to_numpy(dtype=object)[take], dtype="string") + suffix
    del suffix
    repeat = np.flatnonzero(rng.random(rows) < 0.02)
    instructions.iloc[repeat] = instructions.iloc[rng.integers(0, rows, len(repeat))].to_numpy()
    responses = pd.Series(base["response"].to_numpy(dtype=object)[take], dtype="string")
    tags = pd.Series(np.array(SOURCES)[rng.integers(0, len(SOURCES), rows)], dtype="string")
    return instructions, responses, tags


def simulate_results(requests: pd.DataFrame, responses: pd.Series, seed: int = 1) -> pd.DataFrame:
    """Results as the teacher returns them: the real responses, 1% failed, 1% cut by max_tokens."""
    rng = np.random.default_rng(seed)
    n = len(requests)
    draw = rng.random(n)
    failed = draw < 0.01
    length = (draw >= 0.01) & (draw < 0.02)
    text = responses.copy().reset_index(drop=True)
    text[failed] = pd.NA
    return pd.DataFrame(
        {
            "request_id": requests["request_id"].to_numpy(),
            "text": text,
            "finish_reason": np.where(failed, None, np.where(length, "length", "stop")),
            "prompt_tokens": 20,
            "completion_tokens": 60,
            "cost_usd": 0.0001,
            "latency_s": 0.5,
            "attempts": 1,
            "cached": False,
            "error_kind": np.where(failed, "http_500", None),
            "error_message": np.where(failed, "server error", None),
            "teacher_model": "gpt-3.5-turbo-0125",
        }
    )


def run_chain(rows: int, base: pd.DataFrame, params: DistillationParams, out_dir: Path) -> list[dict]:
    figures: list[dict] = []

    def step(name: str, fn, *args):
        with Meter() as meter:
            value = fn(*args)
        figures.append({"node": name, "rows": rows, "seconds": meter.seconds, "peak_rss_gb": meter.peak / 2**30})
        print(f"  {name:<28} {meter.seconds:8.1f} s   peak RSS {meter.peak / 2**30:6.2f} GB", flush=True)
        return value

    instructions, responses, tags = make_base(base, rows)
    pool = pd.DataFrame(
        {
            "instruction": instructions,
            "instruction_source": tags,
            "source_id": "bench",
            "prompt_id": "bench",
            "teacher_model": "gpt-3.5-turbo",
            "created_at": "2026-01-01",
        }
    )
    first = ~pool["instruction"].str.strip().duplicated().to_numpy()
    settings = params.requests.model_copy(update={"limit": None})
    requests = step("build_requests", build_requests, pool, settings)
    del pool, tags
    results = simulate_results(requests, responses[first])
    teacher_pairs, log, report = step(
        "clean_teacher_answers", clean_teacher_answers, requests, results, params.cleaning
    )
    print(f"    cleaning: kept {report['kept']:,}, dropped {report['dropped_by_reason']}")
    del requests, results, log
    gc.collect()
    jsonl = out_dir / f"lamini_{rows}.jsonl"
    with open(jsonl, "w", encoding="utf-8") as handle:
        for start in range(0, rows, 100_000):
            texts = (
                instructions.iloc[start : start + 100_000] + "\nResponse: " + responses.iloc[start : start + 100_000]
            )
            handle.writelines(json.dumps({"text": text}) + "\n" for text in texts.tolist())
    del instructions, responses
    gc.collect()
    records = step("load jsonl (DistilledRecords)", lambda: DistilledRecordsDataset(filepath=str(jsonl)).load())
    jsonl.unlink()
    imported = step("import_published", import_published, records, params.imports["lamini"])
    del imported, records
    gc.collect()
    published = real_pairs()
    dataset = step(
        "assemble_lamini_dataset (+splits)", assemble_lamini_dataset, params.assemble, teacher_pairs, published
    )
    del teacher_pairs
    target = out_dir / f"export_{rows}"
    step(
        "export_hf_dataset (+save)",
        lambda: HFDatasetExport(path=str(target)).save(
            export_hf_dataset(dataset, params.export.model_copy(update={"date": "2026-01-01"}))
        ),
    )
    size = sum(p.stat().st_size for p in target.rglob("*") if p.is_file())
    print(f"    export: {size / 2**20:,.0f} MiB on disk")
    shutil.rmtree(target)
    step("source_counts", lambda: analysis.source_counts(dataset))
    step("token_lengths (sample)", lambda: analysis.token_lengths(dataset, params.analysis))
    paper_statistics = pd.read_csv(ROOT / "data" / "01_raw" / "paper" / "dataset_statistics.csv")
    step(
        "dataset_statistics (Table 1 + MATTR)",
        lambda: analysis.dataset_statistics(dataset, paper_statistics, params.analysis),
    )
    embeddings = step(
        "embed_instructions (sample)",
        lambda: analysis.embed_instructions(dataset, params.analysis.model_copy(update={"progress": False})),
    )
    step("plot_projection (t-SNE)", lambda: analysis.plot_projection(embeddings, params.analysis))
    step("diversity_scores", lambda: analysis.diversity_scores(embeddings, dataset, params.analysis))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_580_000)
    parser.add_argument("--baseline-rows", type=int, default=258_000)
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    print(f"load average at start: {os.getloadavg()}; CPUs: {os.cpu_count()}")
    import sentence_transformers  # noqa: F401 - imported once, outside the timings (~7 s)

    params = PARAMS
    base = real_pairs()
    out_dir = Path(tempfile.mkdtemp(prefix="distillation_scale_"))
    try:
        print(f"baseline: {args.baseline_rows:,} rows")
        baseline = run_chain(args.baseline_rows, base, params, out_dir)
        gc.collect()
        print(f"full: {args.rows:,} rows")
        full = run_chain(args.rows, base, params, out_dir)
    finally:
        shutil.rmtree(out_dir, ignore_errors=True)
    scale = args.rows / args.baseline_rows
    print(
        f"\n| node | {args.baseline_rows:,} rows s | {args.rows:,} rows s | time ratio (x{scale:.0f} rows) | peak RSS GB |"
    )
    print("|---|---|---|---|---|")
    for b, f in zip(baseline, full):
        print(
            f"| {f['node']} | {b['seconds']:.1f} | {f['seconds']:.1f} | {f['seconds'] / max(b['seconds'], 1e-9):.1f} | {f['peak_rss_gb']:.2f} |"
        )
    total = sum(f["seconds"] for f in full)
    peak = max(f["peak_rss_gb"] for f in full)
    max_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
    print(
        f"\nfull chain: {total / 60:.1f} min (target <= 15), peak RSS {peak:.2f} GB (ru_maxrss {max_rss:.2f} GB; target <= 8)"
    )
    print(f"load average at end: {os.getloadavg()}")
    if args.json:
        args.json.write_text(
            json.dumps({"baseline": baseline, "full": full, "total_s": total, "peak_gb": peak}, indent=1)
        )


if __name__ == "__main__":
    main()
