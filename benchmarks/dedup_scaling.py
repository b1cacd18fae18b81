"""Near-duplicate removal at scale: MinHash LSH + ROUGE-L confirmation vs pairwise ROUGE-L.

Builds instruction pools of 100K, 300K and 1M from the real pools in data/01_raw (Self-Instruct
seeds, Alpaca, P3 prompts, LaMini-instruction and AlpacaEval instructions) by realistic
perturbation: paraphrase-like light edits of earlier items (true near-duplicates), and new
instructions made by re-targeting an instruction at a Wikipedia category or splicing two. Each
size runs `lamini_lm.pipelines.instruction_generation.dedup.deduplicate` in a fresh process and
reports wall time and peak RSS. On 2K and 5K it compares with Self-Instruct's criterion computed
over all pairs (cost per pair of the `rouge-score` package measured on sampled pairs): speed ratio, recall of the ROUGE-L > 0.7 pairs, and
agreement of the kept sets with the greedy pairwise filter.

    .venv/bin/python benchmarks/dedup_scaling.py                       # everything (1M: minutes)
    .venv/bin/python benchmarks/dedup_scaling.py --sizes 100000 --baseline-sizes 2000
    .venv/bin/python benchmarks/dedup_scaling.py --sizes '' --lsh-threshold 0.4   # tune recall

Targets (issue #4): 1M in <= 10 min and <= 6 GB peak on the project's 2-core machine; recall >= 0.9.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT / "data" / "01_raw"
sys.path.insert(0, str(ROOT / "src"))

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


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def ours(texts, args: argparse.Namespace):
    """The project's de-duplication with the benchmark's settings (ROUGE-L > 0.7, Self-Instruct's criterion)."""
    return dedup.deduplicate(
        texts,
        lsh_threshold=args.lsh_threshold,
        num_perm=args.num_perm,
        rouge_threshold=0.7,
        seed=args.seed,
        bucket_window=args.bucket_window,
        jaccard_floor=args.jaccard_floor,
        progress=False,
    )


def run_child(n: int, args: argparse.Namespace) -> dict:
    texts = build_pool(n, args.seed)
    before = current_rss_mb()
    start = time.perf_counter()
    result = ours(texts, args)
    seconds = time.perf_counter() - start
    return {
        "n": n,
        "seconds": seconds,
        "peak_rss_mb": peak_rss_mb(),
        "rss_before_mb": before,
        "exact": int((result["reason"] == "exact_duplicate").sum()),
        "near": int((result["reason"] == "near_duplicate").sum()),
    }


def pairwise_truth(texts: list[str]) -> set:
    """Every pair (i < j) with ROUGE-L F > 0.7, exactly.

    Scores are the project's bit-parallel ROUGE-L (rouge-score's tokenizer and F-measure; equal
    scores are checked against rouge-score on sampled pairs below). A pair is scored only if an
    exact upper bound allows it: LCS <= sum over b's tokens of their counts in a, so pairs with
    2 * bound / (len a + len b) <= 0.7 cannot be duplicates.
    """
    import numpy as np
    from scipy import sparse

    tokens = [dedup.rouge_tokens(t) for t in texts]
    vocabulary: dict[str, int] = {}
    rows, cols = [], []
    for row, words in enumerate(tokens):
        for word in words:
            rows.append(row)
            cols.append(vocabulary.setdefault(word, len(vocabulary)))
    counts = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(texts), len(vocabulary)))
    present = (counts > 0).astype(np.float64)
    overlap = (counts @ present.T).toarray()  # [a, b] = sum over b's distinct tokens of count in a
    bound = np.minimum(overlap, overlap.T)
    lengths = np.array([len(t) for t in tokens], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        possible = 2 * bound / (lengths[:, None] + lengths[None, :]) > 0.7
    pairs = set()
    for i, j in zip(*np.nonzero(np.triu(possible, k=1))):
        if dedup.rouge_l(tokens[i], tokens[j]) > 0.7:
            pairs.add((int(i), int(j)))
    return pairs


def rouge_score_cost(texts: list[str], sample: int, seed: int, every_pair: bool) -> tuple[float, float]:
    """Seconds per pair of rouge-score's ``RougeScorer.score`` (all pairs, or a uniform sample),
    and the largest difference from the project's ROUGE-L on the pairs scored."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    n = len(texts)
    rng = random.Random(seed)
    if every_pair:
        pairs = [(i, j) for j in range(n) for i in range(j)]
    else:
        pairs = [tuple(sorted(rng.sample(range(n), 2))) for _ in range(sample)]
    start = time.perf_counter()
    scores = [scorer.score(texts[i], texts[j])["rougeL"].fmeasure for i, j in pairs]
    seconds = time.perf_counter() - start
    check = rng.sample(range(len(pairs)), min(len(pairs), 5000))
    difference = max(
        abs(scores[k] - dedup.rouge_l(dedup.rouge_tokens(texts[pairs[k][0]]), dedup.rouge_tokens(texts[pairs[k][1]])))
        for k in check
    )
    return seconds / len(pairs), difference


def greedy_keep(n: int, pairs: set) -> list[bool]:
    """Self-Instruct's sequential filter given all duplicate pairs: drop j if it repeats a kept i < j."""
    earlier: dict[int, list[int]] = {}
    for i, j in pairs:
        earlier.setdefault(j, []).append(i)
    keep = [True] * n
    for j in range(n):
        keep[j] = not any(keep[i] for i in earlier.get(j, ()))
    return keep


def compare(n: int, args: argparse.Namespace) -> dict:
    texts = build_pool(n, args.seed + n)
    start = time.perf_counter()
    result = ours(texts, args)
    ours_s = time.perf_counter() - start

    per_pair, difference = rouge_score_cost(texts, args.rouge_sample_pairs, args.seed, args.full_rouge_baseline)
    baseline_s = per_pair * n * (n - 1) / 2
    truth = pairwise_truth(texts)

    # Candidate recall: the true pairs that the exact stage or an LSH bucket put in front of ROUGE-L.
    keys = [" ".join(dedup.rouge_tokens(t)) or f"\x00{t.strip()}" for t in texts]
    matrix = dedup.minhash_signatures(dedup.tokenise(texts, progress=False), args.num_perm, args.seed, progress=False)
    bands, rows = dedup.lsh_bands(args.lsh_threshold, args.num_perm)
    codes = dedup.candidate_pairs(matrix, bands, rows, args.seed, args.bucket_window)
    surfaced = {(int(c % n), int(c // n)) for c in codes}
    found = sum(1 for pair in truth if keys[pair[0]] == keys[pair[1]] or pair in surfaced)
    baseline_keep = greedy_keep(n, truth)
    ours_keep = result["keep"].tolist()
    residual = sum(1 for i, j in truth if ours_keep[i] and ours_keep[j])
    return {
        "n": n,
        "true_pairs": len(truth),
        "candidate_recall": found / len(truth) if truth else 1.0,
        "ours_s": ours_s,
        "baseline_s": baseline_s,
        "per_pair_us": per_pair * 1e6,
        "max_score_diff": difference,
        "speedup": baseline_s / ours_s,
        "baseline_dropped": baseline_keep.count(False),
        "ours_dropped": ours_keep.count(False),
        "same_decision": sum(a == b for a, b in zip(baseline_keep, ours_keep)) / n,
        "duplicate_pairs_left": residual,
        "pair_recall": 1 - residual / len(truth) if truth else 1.0,
        "candidate_pairs": len(codes),
        "bands_rows": (bands, rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,300000,1000000")
    parser.add_argument("--baseline-sizes", default="2000,5000")
    parser.add_argument("--lsh-threshold", type=float, default=0.4)
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--bucket-window", type=int, default=16)
    parser.add_argument("--jaccard-floor", type=float, default=0.35)
    parser.add_argument(
        "--rouge-sample-pairs",
        type=int,
        default=20_000,
        help="pairs scored with rouge-score to measure its cost per pair",
    )
    parser.add_argument(
        "--full-rouge-baseline",
        action="store_true",
        help="time rouge-score on every pair (2K: ~2M pairs; hours on long P3 prompts)",
    )
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args)))
        return

    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}")
    print(f"LSH threshold {args.lsh_threshold}, {args.num_perm} permutations, ROUGE-L > 0.7 confirms\n")
    baseline_sizes = [int(s) for s in args.baseline_sizes.split(",") if s]
    per_pair = None
    if baseline_sizes:
        print("== against pairwise ROUGE-L > 0.7 (rouge-score), Self-Instruct's criterion")
        for n in baseline_sizes:
            row = compare(n, args)
            per_pair = row["per_pair_us"] / 1e6
            how = "every pair timed" if args.full_rouge_baseline else f"{args.rouge_sample_pairs:,} sampled pairs timed"
            print(
                f"n={n:,}: ours {row['ours_s']:.2f} s vs pairwise rouge-score {row['baseline_s']:,.0f} s "
                f"({row['per_pair_us']:.0f} µs/pair, {how}) -> {row['speedup']:,.0f}x faster"
            )
            print(
                f"   true ROUGE-L>0.7 pairs {row['true_pairs']:,}; recall (pairs not left together in our "
                f"output) {row['pair_recall']:.4f}; candidate recall (pairs scored) {row['candidate_recall']:.3f}; "
                f"dropped: greedy pairwise {row['baseline_dropped']:,}, ours {row['ours_dropped']:,}; "
                f"same keep/drop decision {row['same_decision']:.2%}; duplicate pairs left in our kept set "
                f"{row['duplicate_pairs_left']}; LSH {row['bands_rows'][0]} bands x {row['bands_rows'][1]} rows, "
                f"{row['candidate_pairs']:,} candidate pairs; max |score diff| vs rouge-score "
                f"{row['max_score_diff']:.1e}"
            )
        print()

    print("== scaling (each size in a fresh process; peak RSS = the whole process, pool included)")
    for n in [int(s) for s in args.sizes.split(",") if s]:
        command = [
            sys.executable,
            __file__,
            "--child",
            str(n),
            "--lsh-threshold",
            str(args.lsh_threshold),
            "--num-perm",
            str(args.num_perm),
            "--seed",
            str(args.seed),
            "--bucket-window",
            str(args.bucket_window),
            "--jaccard-floor",
            str(args.jaccard_floor),
        ]
        load = os.getloadavg()[0]
        row = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout.splitlines()[-1])
        pairwise_h = (per_pair or 40e-6) * n * (n - 1) / 2 / 3600
        print(
            f"n={n:,}: {row['seconds']:.1f} s, peak RSS {row['peak_rss_mb']:,.0f} MB "
            f"(pool alone {row['rss_before_mb']:,.0f} MB); dropped {row['exact']:,} exact + {row['near']:,} near "
            f"duplicates; pairwise rouge-score would take ~{pairwise_h:,.0f} core-hours "
            f"({pairwise_h * 3600 / row['seconds']:,.0f}x); load average at start {load:.2f}"
        )


if __name__ == "__main__":
    main()
