"""Near-duplicate removal that scales: exact matches, then MinHash LSH candidates confirmed by ROUGE-L.

Self-Instruct drops an instruction whose ROUGE-L F-measure with any kept instruction exceeds 0.7.
Comparing every pair is quadratic (~40 µs a pair with ``rouge-score``: thousands of core-hours at
1M). Here every instruction gets a MinHash signature (datasketch's) of its ROUGE tokens;
signatures are cut into bands and only instructions that share a band bucket become candidate
pairs (``minhash.py``). Each candidate pair is then confirmed with the exact ROUGE-L F-measure —
``rouge-score``'s tokenizer and arithmetic, the LCS computed by rapidfuzz's compiled bit-parallel
``LCSseq`` — so a drop means the same thing as in the paper-era filter, down to the float rounding
of pairs at exactly 0.7 (rouge-score puts about half of them above it; so does this).

Earlier rows win: the frame's order is the priority order (originals before generated ones), and a
row is dropped only for a *kept* earlier row — the greedy rule Self-Instruct applies one by one.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from rapidfuzz.distance import LCSseq
from tqdm.auto import tqdm

from lamini_lm.pipelines.instruction_generation.minhash import (
    agreement,
    candidate_pairs,
    lsh_bands,
    minhash_signatures,
)
from lamini_lm.pipelines.instruction_generation.tokens import Tokens, rouge_tokens, tokenise

__all__ = [
    "Tokens",
    "candidate_pairs",
    "deduplicate",
    "lcs_length",
    "lsh_bands",
    "minhash_signatures",
    "rouge_f",
    "rouge_l",
    "rouge_tokens",
    "tokenise",
]

logger = logging.getLogger(__name__)

# Bounds are compared with this margin below the threshold so that float rounding never screens
# out a pair whose exact score sits on the threshold (the decision itself is rouge-score's float).
_MARGIN = 1e-9


def lcs_length(a, b) -> int:
    """Length of the longest common subsequence of two sequences (strings or lists of hashables)."""
    return LCSseq.similarity(a, b)


def rouge_f(lcs: int, len_a: int, len_b: int) -> float:
    """ROUGE-L F-measure from the LCS length, with ``rouge-score``'s own float arithmetic (``a`` the
    target, ``b`` the prediction; the result is the same either way round)."""
    if not lcs:
        return 0.0
    precision, recall = lcs / len_b, lcs / len_a
    return 2 * precision * recall / (precision + recall)


def rouge_l(a: list, b: list) -> float:
    """ROUGE-L F-measure of two token sequences, equal to ``rouge_score``'s ``rougeL`` fmeasure."""
    if not a or not b:
        return 0.0
    return rouge_f(lcs_length(a, b), len(a), len(b))


def _screen(
    codes: np.ndarray,
    m: int,
    lengths: np.ndarray,
    matrix: np.ndarray,
    rouge_threshold: float,
    jaccard_floor: float,
    chunk: int = 4_000_000,
) -> tuple[np.ndarray, np.ndarray]:
    """(later, earlier) of the candidates that can still be duplicates, grouped by ``later``.

    Drops pairs whose lengths make ROUGE-L > threshold impossible (F <= 2 min / (a + b)). With a
    ``jaccard_floor`` above 0 it also drops pairs whose MinHash-estimated Jaccard similarity is
    below it, and orders each row's candidates by that estimate (ties: earlier rows first);
    without one, a row's candidates stay in priority order. The order only decides which kept
    row a duplicate is reported against, never whether it is dropped.
    """
    pair_dtype = np.int32 if m < 2**31 else np.int64
    lengths = lengths.astype(np.int64)
    later_parts, earlier_parts = [], []
    for start in range(0, len(codes), chunk):  # in chunks: int64 temporaries of every pair cost gigabytes at 1M
        part = codes[start : start + chunk]
        later, earlier = part // m, part % m
        la, lb = lengths[earlier], lengths[later]
        possible = 2 * np.minimum(la, lb) >= (rouge_threshold - _MARGIN) * (la + lb)
        later_parts.append(later[possible].astype(pair_dtype))
        earlier_parts.append(earlier[possible].astype(pair_dtype))
    later = np.concatenate(later_parts) if later_parts else np.zeros(0, dtype=pair_dtype)
    earlier = np.concatenate(earlier_parts) if earlier_parts else np.zeros(0, dtype=pair_dtype)
    del later_parts, earlier_parts
    if jaccard_floor <= 0:
        return later, earlier
    agree = agreement(matrix, later, earlier)
    similar = agree >= int(np.ceil(jaccard_floor * matrix.shape[1]))
    later, earlier, agree = later[similar], earlier[similar], agree[similar]
    order = np.argsort(later.astype(np.int64) * (matrix.shape[1] + 1) + (matrix.shape[1] - agree), kind="stable")
    return later[order], earlier[order]


def _confirm(
    later: np.ndarray,
    earlier: np.ndarray,
    sequences: list,
    sizes: list[int],
    rouge_threshold: float,
    progress: bool,
    chunk: int = 2_000_000,
) -> tuple[list[int], list[float]]:
    """Self-Instruct's greedy rule over the screened candidates (grouped by ``later``, ascending):
    row ``j`` is a duplicate of its first candidate, in the screened order, that is still kept and
    whose ROUGE-L exceeds the threshold. Returns each row's kept duplicate (-1: none) and its score.

    Rows are decided in order, so every candidate's own fate is known when it is looked at; a
    row's remaining candidates are not scored once one confirms it.
    """
    duplicate_of = [-1] * len(sizes)
    score = [0.0] * len(sizes)
    similarity = LCSseq.similarity
    if not len(later):
        return duplicate_of, score
    bounds = np.append(np.flatnonzero(np.concatenate(([True], later[1:] != later[:-1]))), len(later))
    bar = tqdm(total=len(later), desc="rouge-l", disable=not progress, mininterval=2)
    group = 0
    while group < len(bounds) - 1:
        # About ``chunk`` pairs at a time as Python ints (all at once would cost gigabytes at 1M rows).
        end = max(group + 1, int(np.searchsorted(bounds, bounds[group] + chunk, side="right")) - 1)
        rows = later[bounds[group:end]].tolist()
        candidates = earlier[bounds[group] : bounds[end]].tolist()
        offsets = (bounds[group : end + 1] - bounds[group]).tolist()
        for g, row in enumerate(rows):
            target, n_row = sequences[row], sizes[row]
            for other in candidates[offsets[g] : offsets[g + 1]]:
                if duplicate_of[other] >= 0:
                    continue
                n_other = sizes[other]
                # An LCS below this gives 2 LCS / (a + b) < threshold - margin: never a duplicate.
                cutoff = int((rouge_threshold - _MARGIN) * (n_row + n_other) / 2)
                lcs = similarity(sequences[other], target, score_cutoff=cutoff)
                if not lcs:
                    continue
                precision, recall = lcs / n_row, lcs / n_other  # rouge-score's arithmetic
                f = 2 * precision * recall / (precision + recall)
                if f > rouge_threshold:
                    duplicate_of[row] = other
                    score[row] = f
                    break
        bar.update(len(candidates))
        group = end
    bar.close()
    return duplicate_of, score


def deduplicate(
    texts: list[str],
    *,
    near_duplicates: bool = True,
    lsh_threshold: float = 0.4,
    num_perm: int = 128,
    rouge_threshold: float = 0.7,
    seed: int = 42,
    false_negative_weight: float = 0.5,
    bucket_window: int = 16,
    jaccard_floor: float = 0.35,
    progress: bool = True,
) -> pd.DataFrame:
    """Decide which of ``texts`` to keep; earlier texts have priority.

    Returns one row per text: ``keep`` (bool), ``reason`` (``exact_duplicate``,
    ``near_duplicate`` or None), ``duplicate_of`` (position of the kept text it repeats, -1 if
    kept) and ``rouge_l`` (the confirming score; 1.0 for exact duplicates). ``near_duplicates=False``
    drops exact duplicates only (no MinHash, no ROUGE-L). With ``jaccard_floor`` above 0,
    candidate pairs whose MinHash-estimated Jaccard is below it are not scored (a ROUGE-L F above
    0.7 needs far more shared tokens); 0 scores every candidate the length bound lets through,
    which costs less than estimating the Jaccard of all of them now that the LCS is compiled.
    """
    n = len(texts)
    duplicate_of = np.full(n, -1, dtype=np.int64)
    similarity = np.zeros(n, dtype=np.float64)
    reason = np.array([None] * n, dtype=object)

    tokens = tokenise(texts)
    lengths = tokens.lengths
    sequences = tokens.sequences()
    first_of: dict = {}
    first_without_tokens: dict[str, int] = {}
    for position, sequence in enumerate(sequences):
        # No ROUGE tokens (e.g. only non-Latin script): compare the raw text instead.
        seen, key = (first_of, sequence) if sequence else (first_without_tokens, texts[position].strip())
        earlier = seen.setdefault(key, position)
        if earlier != position:
            duplicate_of[position] = earlier
            similarity[position] = 1.0
            reason[position] = "exact_duplicate"
    del first_of, first_without_tokens

    # Only unique, non-empty texts take part in LSH (an empty token set would bucket with all others).
    survivors = np.flatnonzero((duplicate_of < 0) & (lengths > 0))
    m = len(survivors)
    if near_duplicates and m > 1:
        matrix = minhash_signatures(tokens, num_perm, seed, rows=survivors, progress=progress)
        bands, rows = lsh_bands(lsh_threshold, num_perm, false_negative_weight)
        codes = candidate_pairs(matrix, bands, rows, seed, bucket_window)
        found = len(codes)
        later, earlier = _screen(codes, m, lengths[survivors], matrix, rouge_threshold, jaccard_floor)
        del matrix, codes
        logger.info(
            "Dedup: %d texts, %d exact duplicates, LSH %d bands x %d rows, %d candidate pairs, %d to "
            "score after the length and Jaccard bounds",
            n,
            int((duplicate_of >= 0).sum()),
            bands,
            rows,
            found,
            len(later),
        )
        original = survivors.tolist()
        local_dup, local_sim = _confirm(
            later,
            earlier,
            [sequences[position] for position in original],
            lengths[survivors].tolist(),
            rouge_threshold,
            progress,
        )
        for local, position in enumerate(original):
            if local_dup[local] >= 0:
                duplicate_of[position] = original[local_dup[local]]
                similarity[position] = local_sim[local]
                reason[position] = "near_duplicate"

    return pd.DataFrame(
        {"keep": duplicate_of < 0, "reason": reason, "duplicate_of": duplicate_of, "rouge_l": similarity}
    )
