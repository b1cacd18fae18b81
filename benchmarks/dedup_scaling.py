"""Near-duplicate removal at scale: ours against the MinHash de-duplicators users would pick instead.

Builds instruction pools of 100K and 1M from the real pools in data/01_raw (Self-Instruct seeds,
Alpaca, P3 prompts, LaMini-instruction and AlpacaEval instructions) by realistic perturbation:
paraphrase-like light edits of earlier items (true near-duplicates), and new instructions made by
re-targeting an instruction at a Wikipedia category or splicing two. The first 5,000 rows of every
pool are the same (the pool grows by appending), and on them the truth is Self-Instruct's
criterion over every pair: ROUGE-L F > 0.7 with rouge-score's tokenizer and float arithmetic (the
LCS of all 12.5M pairs by rapidfuzz's ``cdist``; scores checked against rouge-score itself on
sampled pairs). Pairs scored exactly 0.7 are counted as rouge-score decides them.

Methods, each run on the whole pool (written once to a JSON file) in a fresh process,
interleaved (ours, then each peer, per repetition), ``--repeats`` times:
- ``ours``: ``lamini_lm.pipelines.instruction_generation.dedup.deduplicate`` (exact, MinHash LSH
  candidates, ROUGE-L > 0.7 confirmation) with conf/base's settings, in this venv;
- the peers, each a script in ``benchmarks/peers/`` run by ``--peers-python`` (``make bench-peers``
  builds ``.venv-bench``: they cannot share the project's pins), 5-word shingles, 128
  permutations, Jaccard threshold 0.7, as each library's users call it (see each script):
  ``datasketch`` (``MinHash.bulk`` + ``MinHashLSH``), ``distilabel`` (``MinHashDedup``),
  ``text-dedup`` (``python -m text_dedup.minhash``), ``datatrove`` (its four MinHash stages);
- ``datasketch-project``: the datasketch script run by this python (datasketch is a project dependency).
A peer whose python or import is missing is reported "not installed", a crash as "failed".
Reported per method: wall and CPU seconds of the timed call (median and range; CPU includes
reaped worker processes), the ratio to ours, peak RSS (the pool included), and on the 5K prefix of
the same run: recall against the truth F > 0.7 - 1e-9 (issue 15) and against rouge-score's float
> 0.7, precision (dropped rows that have an F > 0.7 - 1e-9 partner in the pool) and the share of
rows decided as the greedy pairwise filter decides them.

    .venv/bin/python benchmarks/dedup_scaling.py                          # 100K x 3 repetitions
    .venv/bin/python benchmarks/dedup_scaling.py --sizes 1000000 --repeats 1   # 1M once (minutes)
    .venv/bin/python benchmarks/dedup_scaling.py --methods ours --jaccard-floor 0.35   # override conf/base
    .venv/bin/python benchmarks/dedup_scaling.py --sizes 10000 --repeats 1 --peers-python /path/to/python

Targets (issue 15): faster than bare datasketch at recall >= 0.99; 1M in <= 3 minutes.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "01_raw"
sys.path.insert(0, str(ROOT / "src"))

sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
from peers import add_peers_python_argument, run_peer  # noqa: E402
from peers.protocol import Window, emit  # noqa: E402

from lamini_lm.datasets.json_records import read_json_records  # noqa: E402
from lamini_lm.pipelines.instruction_generation import dedup  # noqa: E402

SYNONYMS = {
    "give": ["provide", "list", "offer"],
    "write": ["compose", "create", "draft"],
    "explain": ["describe", "clarify", "outline"],
    "describe": ["explain", "characterize"],
    "list": ["name", "give", "enumerate"],
    "short": ["brief", "concise"],
    "generate": ["create", "produce"],
    "find": ["identify", "determine"],
    "create": ["make", "design", "write"],
    "what": ["which"],
    "tips": ["suggestions", "ideas"],
    "ways": ["methods", "approaches"],
    "good": ["great", "effective"],
    "following": ["given", "provided"],
    "sentence": ["phrase", "statement"],
    "story": ["tale", "narrative"],
    "important": ["essential", "key"],
    "help": ["assist", "support"],
    "summarize": ["summarise", "sum up"],
}
PREFIXES = ["Please ", "Can you ", "Could you ", "I need you to ", "Kindly ", "Now, "]
SUFFIXES = [
    " in detail.",
    " in one sentence.",
    " for a beginner.",
    " briefly.",
    " with examples.",
    " step by step.",
    " for a child.",
    " please.",
]
FRAMES = [
    "Write a short essay about {t}.",
    "What are the most important facts about {t}?",
    "Explain the history of {t} to a student.",
    "Create a quiz with three questions on {t}.",
    "Summarize the key ideas behind {t}.",
    "Give five interesting facts about {t}.",
    "Compare {t} with {u} in a short paragraph.",
    "Write a tweet about {t}.",
    "Describe how {t} influenced {u}.",
    "Generate a list of questions a journalist might ask about {t}.",
]


def load_bases() -> tuple[list[str], list[str]]:
    """Real instructions (~18K) and real topics (Wikipedia categories) to perturb."""
    from lamini_lm.pipelines.instruction_generation.nodes import MAINTENANCE_PATTERNS

    texts: list[str] = []
    texts += [row["instruction"] for row in read_json_records(RAW / "seeds/self_instruct_seed_tasks.jsonl")[0]]
    for row in read_json_records(RAW / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json")[0]:
        texts.append(row["instruction"] + (f' "{row["input"]}"' if row["input"] else ""))
    texts += [row["prompt"].strip() for row in read_json_records(RAW / "sources/p3/t0_train_sample.jsonl")[0]]
    lamini = read_json_records(RAW / "distilled/lamini/lamini_instruction_10k_fmengine.jsonl")[0]
    texts += [row["text"].split("\nResponse: ", 1)[0] for row in lamini]
    alpaca_eval = read_json_records(RAW / "distilled/alpaca_eval/gpt-3.5-turbo-0301_model_outputs.json")[0]
    texts += [row["instruction"] for row in alpaca_eval]
    pattern = re.compile("|".join(MAINTENANCE_PATTERNS), re.I)
    topics = [
        t.strip()
        for t in (RAW / "topics/wikipedia_categories_min200_pages.txt").read_text().splitlines()
        if t.strip() and not pattern.search(t)
    ]
    return [t for t in dict.fromkeys(texts) if t.strip()], topics


def light_edit(text: str, rng: random.Random) -> str:
    """A paraphrase-like edit: 1-3 of synonym swap, word drop, prefix/suffix, casing, punctuation."""
    words = text.split()
    for _ in range(rng.randint(1, 3)):
        op = rng.random()
        if op < 0.35 and words:
            i = rng.randrange(len(words))
            options = SYNONYMS.get(words[i].lower().strip(".,?!:"))
            if options:
                words[i] = rng.choice(options)
        elif op < 0.55 and len(words) > 4:
            del words[rng.randrange(len(words))]
        elif op < 0.7 and words:
            words[0] = rng.choice(PREFIXES).strip() + " " + words[0][:1].lower() + words[0][1:]
        elif op < 0.85 and words:
            words[-1] = words[-1].rstrip(".?!") + rng.choice(SUFFIXES)
        elif len(words) > 2:
            i = rng.randrange(len(words) - 1)
            words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words)


def new_instruction(bases: list[str], topics: list[str], rng: random.Random) -> str:
    """A different instruction: a topic frame, a base re-targeted at a topic, or two bases spliced."""
    op = rng.random()
    if op < 0.5:
        frame = rng.choice(FRAMES).format(t=rng.choice(topics), u=rng.choice(topics))
        return frame if rng.random() < 0.5 else frame.rstrip(".?") + rng.choice(SUFFIXES)
    base = rng.choice(bases).split()
    if op < 0.75 and len(base) > 3:  # re-target: ~40% of the words become one or two topics
        span = max(1, int(len(base) * rng.uniform(0.3, 0.5)))
        start = rng.randrange(len(base) - span + 1)
        topic = rng.choice(topics).split() + (rng.choice(topics).split() if span > 4 else [])
        return " ".join(base[:start] + topic + base[start + span :])
    other = rng.choice(bases).split()
    return " ".join(base[: max(1, len(base) // 2)] + other[len(other) // 2 :])


def build_pool(n: int, seed: int) -> list[str]:
    """``n`` instructions: ~3% exact repeats and ~15% paraphrase-like edits of earlier items or of
    real instructions (near-duplicates), ~2% real instructions verbatim, the rest new ones derived
    from the real pools and topics (which are near-duplicates of each other only by chance)."""
    rng = random.Random(seed)
    bases, topics = load_bases()
    out: list[str] = []
    for _ in range(n):
        r = rng.random()
        if r < 0.03 and out:
            out.append(rng.choice(out))
        elif r < 0.18:
            source = rng.choice(out) if out and rng.random() < 0.5 else rng.choice(bases)
            out.append(light_edit(source, rng))
        elif r < 0.20:
            out.append(rng.choice(bases))
        else:
            out.append(new_instruction(bases, topics, rng))
    return out


SUBSET = 5000
# The exact-ROUGE-L truth counts a pair as a duplicate at F > 0.7 - 1e-9 (issue 15): every pair whose
# exact score is 0.7 is in, whichever side of 0.7 rouge-score's float puts it.
TRUTH_THRESHOLD = 0.7 - 1e-9
PEER_SCRIPTS = {  # method -> script in benchmarks/peers/, run by --peers-python
    "datasketch": "dedup_datasketch.py",
    "distilabel": "dedup_distilabel.py",
    "text-dedup": "dedup_text_dedup.py",
    "datatrove": "dedup_datatrove.py",
}
# Bare datasketch is also in the project's venv: the same script, run by this python.
PROJECT_VENV = {"datasketch-project": "dedup_datasketch.py"}
METHODS = ["ours", *PEER_SCRIPTS, *PROJECT_VENV]
DEFAULT_METHODS = ["ours", *PEER_SCRIPTS]


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def conf_dedup() -> dict:
    """conf/base's ``instruction_generation.dedup`` block and seed: the settings the pipeline runs."""
    import yaml

    conf = ROOT / "conf" / "base"
    block = yaml.safe_load((conf / "parameters_instruction_generation.yml").read_text())["instruction_generation"]
    return block["dedup"] | {"seed": yaml.safe_load((conf / "globals.yml").read_text())["seed"]}


def run_ours_child(pool_file: Path, args: argparse.Namespace) -> dict:
    """ours on the pool file, in this (fresh) process: the result line's fields."""
    texts = json.loads(pool_file.read_text(encoding="utf-8"))
    before = current_rss_mb()
    with Window() as window:
        result = dedup.deduplicate(
            texts,
            lsh_threshold=args.lsh_threshold,
            num_perm=args.num_perm,
            rouge_threshold=args.rouge_threshold,
            seed=args.seed,
            false_negative_weight=args.false_negative_weight,
            bucket_window=args.bucket_window,
            jaccard_floor=args.jaccard_floor,
            progress=False,
        )
    return {
        "status": "ok",
        "version": f"lamini-lm {importlib.metadata.version('lamini-lm')} (this tree)",
        "n": len(texts),
        "dropped": np.flatnonzero(~result["keep"].to_numpy()).tolist(),
        "wall_s": window.wall_s,
        "cpu_s": window.cpu_s,
        "peak_rss_mb": peak_rss_mb(),
        "pool_rss_mb": before,
    }


def run_method(method: str, pool_file: Path, args: argparse.Namespace) -> dict:
    """One fresh process of ``method`` on the pool file: its result row (``status`` ok or why not)."""
    common = ["--pool", pool_file, "--num-perm", args.num_perm, "--threshold", 0.7, "--ngram", 5]
    common += ["--seed", args.seed]
    with tempfile.TemporaryDirectory(dir=args.work_root) as work:
        if method == "ours":
            command = [sys.executable, __file__, "--child-pool", str(pool_file)]
            for name in ("lsh_threshold", "num_perm", "seed", "bucket_window", "false_negative_weight"):
                command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            command += ["--jaccard-floor", str(args.jaccard_floor), "--rouge-threshold", repr(args.rouge_threshold)]
            return run_peer(sys.executable, __file__, command[2:], timeout_s=args.peer_timeout_s, env=OURS_ENV)
        python = sys.executable if method in PROJECT_VENV else args.peers_python
        script = (PEER_SCRIPTS | PROJECT_VENV)[method]
        return run_peer(python, script, [*common, "--work-dir", work], timeout_s=args.peer_timeout_s)


# ours' child runs with the project's source on the path and the peers' protocol beside it.
OURS_ENV = {"PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT / "benchmarks")])}


def truth_on_subset(texts: list[str], args: argparse.Namespace) -> dict:
    """Every pair of the subset scored exactly: the F matrix (rouge-score's arithmetic), and checks."""
    import numpy as np
    from rapidfuzz.distance import LCSseq
    from rapidfuzz.process import cdist
    from rouge_score import rouge_scorer

    tokens = dedup.tokenise(texts)
    sequences = tokens.sequences()
    lengths = tokens.lengths.astype(np.int64)
    start = time.perf_counter()
    lcs = cdist(sequences, sequences, scorer=LCSseq.similarity, dtype=np.int32, workers=1).astype(np.int64)
    lcs_seconds = time.perf_counter() - start
    with np.errstate(divide="ignore", invalid="ignore"):
        precision, recall = lcs / lengths[None, :], lcs / lengths[:, None]
        f = np.nan_to_num(2 * precision * recall / (precision + recall))
    keys = [s if s else "\x00" + t.strip() for s, t in zip(sequences, texts)]
    same_text = np.zeros_like(f, dtype=bool)
    first: dict = {}
    for j, key in enumerate(keys):
        if not sequences[j]:
            i = first.setdefault(key, j)
            if i != j:
                same_text[i, j] = same_text[j, i] = True
    duplicate = (f > TRUTH_THRESHOLD) | same_text
    np.fill_diagonal(duplicate, False)
    float_rule = (f > 0.7) | same_text  # rouge-score's own float decision (Self-Instruct's ``> 0.7``)
    np.fill_diagonal(float_rule, False)
    exact_seven_tenths = np.triu(20 * lcs == 7 * (lengths[:, None] + lengths[None, :]), k=1) & (lcs > 0)

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    rng = random.Random(args.seed)
    upper = np.argwhere(np.triu(duplicate, k=1))
    sample = [tuple(upper[k]) for k in rng.sample(range(len(upper)), min(1000, len(upper)))]
    sample += [tuple(p) for p in np.argwhere(exact_seven_tenths)[:1000]]
    sample += [tuple(sorted(rng.sample(range(len(texts)), 2))) for _ in range(args.rouge_sample_pairs)]
    start = time.perf_counter()
    reference = [scorer.score(texts[i], texts[j])["rougeL"].fmeasure for i, j in sample]
    per_pair = (time.perf_counter() - start) / len(sample)
    difference = max(abs(r - f[i, j]) for r, (i, j) in zip(reference, sample))
    return {
        "f": f,
        "duplicate": duplicate,
        "float_rule": float_rule,
        "sequences": sequences,
        "true_pairs": int(np.triu(duplicate, k=1).sum()),
        "float_pairs": int(np.triu(float_rule, k=1).sum()),
        "exact_seven_tenths": int(exact_seven_tenths.sum()),
        "exact_seven_tenths_above": int((exact_seven_tenths & (f > 0.7)).sum()),
        "lcs_seconds": lcs_seconds,
        "rouge_score_per_pair_s": per_pair,
        "checked_pairs": len(sample),
        "max_difference": difference,
    }


def greedy_keep(duplicate) -> list[bool]:
    """Self-Instruct's sequential filter: drop j if it is a duplicate of a kept i < j."""
    import numpy as np

    keep = np.ones(len(duplicate), dtype=bool)
    for j in range(len(duplicate)):
        keep[j] = not duplicate[:j, j][keep[:j]].any()
    return keep.tolist()


LONELY_CHUNK = 16  # rows checked against the whole pool per pass (bounded memory at 1M)


def quality(keep: list[bool], truth: dict, pool: list[str]) -> dict:
    """Recall (both truths), precision and agreement with the greedy filter of ``keep`` on the subset."""
    import numpy as np
    from rapidfuzz.distance import LCSseq
    from rapidfuzz.process import cdist

    duplicate = truth["duplicate"]
    kept = np.array(keep)

    def left(matrix) -> int:
        return int((np.triu(matrix, k=1) & kept[:, None] & kept[None, :]).sum())

    left_together, left_float = left(duplicate), left(truth["float_rule"])
    dropped = np.flatnonzero(~kept)
    partnered = duplicate[dropped].any(axis=1)
    # A dropped row without a partner in the subset may still repeat a row further on in the pool.
    lonely = dropped[~partnered]
    if len(lonely) and len(pool) > len(keep):
        tokens = dedup.tokenise(pool)
        sequences, lengths = tokens.sequences(), tokens.lengths.astype(np.float64)
        found = np.zeros(len(lonely), dtype=bool)
        # A few rows against the whole pool at a time: all of them at once is rows x pool x 32 bytes of
        # temporaries (a 1M pool with ~900 such rows ran the benchmark out of its 24 GB).
        for start in range(0, len(lonely), LONELY_CHUNK):
            rows = lonely[start : start + LONELY_CHUNK]
            lcs = cdist([sequences[i] for i in rows], sequences, scorer=LCSseq.similarity, dtype=np.int32, workers=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                p, r = lcs / lengths[None, :], lcs / lengths[rows][:, None]
                f = np.nan_to_num(2 * p * r / (p + r))
            f[np.arange(len(rows)), rows] = 0
            found[start : start + len(rows)] = (f > TRUTH_THRESHOLD).any(axis=1)
        partnered[~partnered] = found
    greedy = greedy_keep(duplicate)
    return {
        "recall": 1 - left_together / truth["true_pairs"] if truth["true_pairs"] else 1.0,
        "left_together": left_together,
        "recall_float": 1 - left_float / truth["float_pairs"] if truth["float_pairs"] else 1.0,
        "left_float": left_float,
        "precision": float(partnered.mean()) if len(dropped) else 1.0,
        "dropped_subset": len(dropped),
        "same_as_greedy": float(np.mean(np.array(greedy) == kept)),
    }


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):,.1f} ({min(values):,.1f}–{max(values):,.1f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--methods", default=",".join(DEFAULT_METHODS), help=f"comma-separated, of {', '.join(METHODS)}"
    )
    conf = conf_dedup()
    parser.add_argument("--lsh-threshold", type=float, default=conf["lsh_threshold"])
    parser.add_argument("--num-perm", type=int, default=conf["num_perm"])
    parser.add_argument("--seed", type=int, default=conf["seed"])
    parser.add_argument("--bucket-window", type=int, default=conf["bucket_window"])
    parser.add_argument("--false-negative-weight", type=float, default=conf["false_negative_weight"])
    parser.add_argument(
        "--jaccard-floor", type=float, default=conf["jaccard_floor"], help="ours: skip candidates below this estimate"
    )
    parser.add_argument(
        "--rouge-threshold", type=float, default=conf["rouge_threshold"], help="ours: drop when ROUGE-L F > this"
    )
    parser.add_argument("--rouge-sample-pairs", type=int, default=3000, help="random pairs timed with rouge-score")
    parser.add_argument("--peer-timeout-s", type=float, default=1800)
    parser.add_argument("--work-root", type=Path, default=None, help="where pool files and peers' folders go")
    add_peers_python_argument(parser)
    parser.add_argument("--child-pool", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_pool:
        emit(**run_ours_child(args.child_pool, args))
        return

    methods = [m for m in args.methods.split(",") if m]
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        parser.error(f"--methods: unknown {unknown}; choose from {METHODS}")
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}; Python {sys.version.split()[0]}")
    print(
        f"ours: LSH threshold {args.lsh_threshold}, {args.num_perm} permutations, bucket window "
        f"{args.bucket_window}, Jaccard floor {args.jaccard_floor}, seed {args.seed}, ROUGE-L > "
        f"{args.rouge_threshold!r} confirms (defaults: conf/base); peers: 5-word shingles, {args.num_perm} "
        f"permutations, Jaccard threshold 0.7, peers' python {args.peers_python}"
    )

    subset = build_pool(SUBSET, args.seed)
    truth = truth_on_subset(subset, args)
    print(
        f"\n== truth on the first {SUBSET:,} rows: every pair scored ({truth['lcs_seconds']:.1f} s for all LCS): "
        f"{truth['true_pairs']:,} pairs with ROUGE-L F > 0.7 - 1e-9 (issue 15's truth), {truth['float_pairs']:,} "
        f"with rouge-score's float F > 0.7 (Self-Instruct's rule); {truth['exact_seven_tenths']:,} pairs score "
        f"exactly 0.7, of which rouge-score's float puts {truth['exact_seven_tenths_above']:,} above 0.7; max "
        f"|diff| vs rouge-score on {truth['checked_pairs']:,} checked pairs {truth['max_difference']:.1e}; "
        f"rouge-score costs {truth['rouge_score_per_pair_s'] * 1e6:.0f} µs a pair (all "
        f"{SUBSET * (SUBSET - 1) // 2:,} pairs: ~{truth['rouge_score_per_pair_s'] * SUBSET**2 / 2:,.0f} s)"
    )

    for n in [int(s) for s in args.sizes.split(",") if s]:
        pool = build_pool(n, args.seed)
        assert pool[:SUBSET] == subset
        with tempfile.TemporaryDirectory(dir=args.work_root) as folder:
            pool_file = Path(folder) / f"pool_{n}.json"
            pool_file.write_text(json.dumps(pool), encoding="utf-8")
            rows: dict[str, list[dict]] = {m: [] for m in methods}
            for repeat in range(args.repeats):  # interleaved: ours, then each peer, per repetition
                for method in methods:
                    load = os.getloadavg()[0]
                    row = run_method(method, pool_file, args) | {"load": load}
                    rows[method].append(row)
                    if row["status"] != "ok":
                        print(f"  n={n:,} repeat {repeat + 1} {method}: {row['status']}", flush=True)
                        continue
                    print(
                        f"  n={n:,} repeat {repeat + 1} {method}: {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} s "
                        f"CPU (process {row['process_wall_s']:.1f} s / {row['process_cpu_s']:.1f} s), peak RSS "
                        f"{row['peak_rss_mb']:,.0f} MB, dropped {len(row['dropped']):,}, load {load:.1f}",
                        flush=True,
                    )
        print_table(n, methods, rows, truth, pool, args)


def print_table(n: int, methods: list[str], rows: dict, truth: dict, pool: list[str], args) -> None:
    print(f"\n== n={n:,}: {args.repeats} repetition(s), interleaved; median (range)")
    print(
        "| method | version | wall s | CPU s | vs ours (wall / CPU) | peak RSS MB (pool) | dropped | "
        "**recall** (F > 0.7 - 1e-9) | recall (float > 0.7) | precision | same as greedy | notes |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    ok = {m: [r for r in rows[m] if r["status"] == "ok"] for m in methods}
    ours = ok.get("ours") or []
    ours_wall = statistics.median(r["wall_s"] for r in ours) if ours else None
    ours_cpu = statistics.median(r["cpu_s"] for r in ours) if ours else None
    for method in methods:
        got = ok[method]
        if not got:
            status = rows[method][0]["status"] if rows[method] else "not run"
            detail = rows[method][0].get("detail") or rows[method][0].get("missing") or "" if rows[method] else ""
            print(f"| {method} | {status} {detail} | | | | | | | | | | |")
            continue
        first = got[0]
        keep = np.ones(n, dtype=bool)
        keep[first["dropped"]] = False
        q = quality(keep[:SUBSET].tolist(), truth, pool)
        wall = statistics.median(r["wall_s"] for r in got)
        cpu = statistics.median(r["cpu_s"] for r in got)
        ratio = f"{wall / ours_wall:.2f}× / {cpu / ours_cpu:.2f}×" if ours_wall else "—"
        same = all(r["dropped"] == first["dropped"] for r in got)
        notes = [
            f"{k}: {first[k]}" for k in ("tokenizer", "patched", "bands_rows", "num_proc", "workers") if first.get(k)
        ]
        notes += [] if same else ["decisions differ between repetitions"]
        failed = len(rows[method]) - len(got)
        notes += [f"{failed} repetition(s) failed: {rows[method][0]['status']}"] if failed else []
        print(
            f"| {method} | {first['version']} | {spread([r['wall_s'] for r in got])} | "
            f"{spread([r['cpu_s'] for r in got])} | {ratio} | "
            f"{statistics.median(r['peak_rss_mb'] for r in got):,.0f} ({first['pool_rss_mb']:,.0f}) | "
            f"{len(first['dropped']):,} | **{q['recall']:.3f}** ({q['left_together']:,} left) | "
            f"{q['recall_float']:.3f} ({q['left_float']:,} left) | {q['precision']:.3f} | "
            f"{q['same_as_greedy']:.2%} | {'; '.join(notes)} |"
        )
    print(
        f"(on the subset: {truth['true_pairs']:,} true pairs at F > 0.7 - 1e-9, {truth['float_pairs']:,} at "
        f"rouge-score's float > 0.7; the greedy pairwise filter drops {greedy_keep(truth['duplicate']).count(False):,} "
        "rows; loads at each start: "
        + ", ".join(m + " " + "/".join(f"{r['load']:.1f}" for r in rows[m]) for m in methods)
        + ")"
    )


if __name__ == "__main__":
    main()
