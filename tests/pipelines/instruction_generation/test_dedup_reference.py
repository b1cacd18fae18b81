"""The de-duplication's decisions on real instructions, against the implementation it replaced and
against Self-Instruct's filter applied to every pair.

``data/dedup_reference.json`` holds the decisions of the pure-Python implementation (datasketch
signatures, bit-parallel LCS in Python big ints) at commit 35ccec6, made once on the texts that
``real_instructions`` builds; the compiled LCS and the vectorised MinHash must decide the same.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from rapidfuzz.distance import LCSseq
from rapidfuzz.process import cdist

from lamini_lm.datasets.json_records import read_json_records
from lamini_lm.pipelines.instruction_generation.dedup import deduplicate
from lamini_lm.pipelines.instruction_generation.tokens import tokenise

REFERENCE = Path(__file__).parent / "data" / "dedup_reference.json"
SETTINGS = {
    "lsh_threshold": 0.4,
    "num_perm": 128,
    "rouge_threshold": 0.7,
    "seed": 42,
    "false_negative_weight": 0.5,
    "bucket_window": 16,
    "jaccard_floor": 0.35,
}


def real_instructions(raw: Path) -> list[str]:
    """~4,200 real instructions: the Self-Instruct seeds, Alpaca (with inputs), AlpacaEval, and
    the first 1,000 bundled P3 prompts and 500 LaMini instructions (templated: many near duplicates)."""
    texts = [row["instruction"] for row in read_json_records(raw / "seeds/self_instruct_seed_tasks.jsonl")[0]]
    for row in read_json_records(raw / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json")[0]:
        texts.append(row["instruction"] + (f' "{row["input"]}"' if row["input"] else ""))
    alpaca_eval = read_json_records(raw / "distilled/alpaca_eval/gpt-3.5-turbo-0301_model_outputs.json")[0]
    texts += [row["instruction"] for row in alpaca_eval]
    texts += [row["prompt"] for row in read_json_records(raw / "sources/p3/t0_train_sample.jsonl", max_rows=1000)[0]]
    lamini = read_json_records(raw / "distilled/lamini/lamini_instruction_10k_fmengine.jsonl", max_rows=500)[0]
    texts += [row["text"].split("\nResponse: ", 1)[0] for row in lamini]
    return texts


def pairwise_rouge_l(texts: list[str]) -> np.ndarray:
    """ROUGE-L F (rouge-score's arithmetic) of every pair, from rapidfuzz's all-pairs LCS."""
    tokens = tokenise(texts)
    sequences = tokens.sequences()
    lengths = tokens.lengths.astype(np.float64)
    lcs = cdist(sequences, sequences, scorer=LCSseq.similarity, dtype=np.int32, workers=1).astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision, recall = lcs / lengths[None, :], lcs / lengths[:, None]
        return np.nan_to_num(2 * precision * recall / (precision + recall))


def greedy_keep(f: np.ndarray, exact_of: np.ndarray, threshold: float) -> np.ndarray:
    """Self-Instruct's filter given every pair's score: drop row j if it scores above ``threshold``
    with a kept earlier row (or repeats one exactly: ``exact_of[j] >= 0``)."""
    keep = np.ones(len(f), dtype=bool)
    for j in range(len(f)):
        keep[j] = exact_of[j] < 0 and not (f[:j, j][keep[:j]] > threshold).any()
    return keep


@pytest.fixture(scope="module")
def texts(raw_data):
    return real_instructions(raw_data)


@pytest.fixture(scope="module")
def reference(texts):
    stored = json.loads(REFERENCE.read_text())
    assert stored["texts"] == len(texts) and stored["settings"] == SETTINGS, "regenerate data/dedup_reference.json"
    return {i: (of, reason) for i, of, reason in stored["dropped"]}


def test_same_decisions_and_references_as_the_replaced_implementation(texts, reference):
    result = deduplicate(texts, progress=False, **SETTINGS)
    dropped = {i: (int(result.duplicate_of[i]), result.reason[i]) for i in np.flatnonzero(~result["keep"])}
    assert dropped == reference
    assert sum(reason == "near_duplicate" for _, reason in reference.values()) > 100  # the test has teeth


def test_without_the_jaccard_floor_the_same_rows_are_dropped(texts, reference):
    result = deduplicate(texts, progress=False, **{**SETTINGS, "jaccard_floor": 0.0})
    assert set(np.flatnonzero(~result["keep"]).tolist()) == set(reference)


@pytest.mark.slow
def test_against_self_instructs_filter_over_every_pair(texts):
    """The LSH misses a pair only inside template buckets larger than ``bucket_window`` (P3 prompts
    over one passage): 3 of the 913 drops here. Every drop it makes is a true one."""
    result = deduplicate(texts, progress=False, **{**SETTINGS, "jaccard_floor": 0.0})
    f = pairwise_rouge_l(texts)
    exact_of = np.where(result["reason"] == "exact_duplicate", result["duplicate_of"], -1)
    greedy = greedy_keep(f, exact_of, SETTINGS["rouge_threshold"])
    keep = result["keep"].to_numpy()
    assert (keep != greedy).sum() <= 0.005 * (~greedy).sum()
    near = np.flatnonzero(result["reason"] == "near_duplicate")
    of = result["duplicate_of"].to_numpy()[near]
    assert keep[of].all() and (f[of, near] > SETTINGS["rouge_threshold"]).all()
    assert np.array_equal(f[of, near], result["rouge_l"].to_numpy()[near])
    kept = np.flatnonzero(keep)
    left_together = np.triu(f[np.ix_(kept, kept)] > SETTINGS["rouge_threshold"], k=1).sum()
    assert left_together <= 0.005 * (f > SETTINGS["rouge_threshold"]).sum() / 2
