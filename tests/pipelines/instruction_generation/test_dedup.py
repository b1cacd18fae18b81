import random

import pytest
from rouge_score import rouge_scorer

from lamini_lm.pipelines.instruction_generation.dedup import (
    candidate_pairs,
    deduplicate,
    lcs_length,
    lsh_bands,
    minhash_signatures,
    rouge_l,
    rouge_tokens,
    tokenise,
)


def _dp_lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


def test_bit_parallel_lcs_matches_dynamic_programming():
    rng = random.Random(0)
    for _ in range(300):
        a = [rng.choice("abcde") for _ in range(rng.randint(0, 40))]
        b = [rng.choice("abcde") for _ in range(rng.randint(0, 40))]
        assert lcs_length(a, b) == _dp_lcs(a, b)


def test_rouge_l_equals_rouge_score_package():
    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)
    pairs = [
        ("Give three tips for staying healthy.", "Give 3 tips for staying healthy and happy!"),
        ("What is the capital of France?", "Name the capital city of France."),
        ("Translate 'hello' into German.", "Write a poem about the sea."),
        ("a a a b", "a b a b a"),
    ]
    for a, b in pairs:
        expected = scorer.score(a, b)["rougeL"].fmeasure
        assert rouge_l(rouge_tokens(a), rouge_tokens(b)) == pytest.approx(expected, abs=1e-12)


def test_deduplicate_keeps_the_earlier_text_and_says_what_it_repeats():
    texts = [
        "Give three tips for staying healthy.",
        "Write a haiku about the autumn moon over the lake.",
        "give three tips for staying healthy",  # exact after normalisation
        "Give three useful tips for staying healthy.",  # near duplicate of 0
        "Explain how photosynthesis works in plants.",
    ]
    result = deduplicate(texts, lsh_threshold=0.3, seed=1, progress=False)
    assert result["keep"].tolist() == [True, True, False, False, True]
    assert result.loc[2, "reason"] == "exact_duplicate" and result.loc[2, "duplicate_of"] == 0
    assert result.loc[3, "reason"] == "near_duplicate" and result.loc[3, "duplicate_of"] == 0
    assert result.loc[3, "rouge_l"] > 0.7
    assert result.loc[1, "duplicate_of"] == -1


def test_a_row_is_only_dropped_for_a_kept_row():
    # 1 repeats 0 and is dropped; 2 repeats only 1, which is gone, so 2 stays (greedy rule).
    texts = [
        "alpha beta gamma delta epsilon zeta eta theta",
        "alpha beta gamma delta epsilon zeta eta iota kappa",
        "lambda mu gamma delta epsilon zeta eta iota kappa",
    ]
    scores = (
        rouge_l(rouge_tokens(texts[0]), rouge_tokens(texts[2])),
        rouge_l(rouge_tokens(texts[1]), rouge_tokens(texts[2])),
    )
    assert scores[0] <= 0.7 < scores[1]
    result = deduplicate(texts, lsh_threshold=0.2, seed=3, progress=False)
    assert result["keep"].tolist() == [True, False, True]


def test_texts_without_rouge_tokens_are_not_lumped_together():
    result = deduplicate(["你好世界", "再见", "你好世界"], progress=False)
    assert result["keep"].tolist() == [True, True, False]


def test_candidate_pairs_find_shared_buckets():
    texts = ["the cat sat on the mat today", "the cat sat on the mat today please", "quantum chromodynamics lecture"]
    matrix = minhash_signatures(tokenise(texts, progress=False), num_perm=64, seed=1, progress=False)
    bands, rows = lsh_bands(0.5, 64)
    codes = candidate_pairs(matrix, bands, rows, seed=1)
    assert 1 * 3 + 0 in codes.tolist()


def test_lsh_bands_rejects_bad_threshold():
    with pytest.raises(ValueError, match="lsh_threshold"):
        lsh_bands(1.5, 128)


def test_tokens_and_signatures_match_the_libraries(raw_data):
    import json

    import numpy as np
    from datasketch import MinHash
    from rouge_score.tokenizers import DefaultTokenizer

    rows = json.loads((raw_data / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json").read_text())
    texts = [r["instruction"] + " " + r["input"] for r in rows[:300]] + ["İstanbul café—naïve x²", "你好", ""]
    reference = DefaultTokenizer(use_stemmer=False)
    assert [rouge_tokens(t) for t in texts] == [reference.tokenize(t) for t in texts]
    tokens = tokenise(texts, progress=False)
    assert [tokens.words[i] for i in tokens.of(1)] == rouge_tokens(texts[1])
    rows = np.array([0, 300, 301, 302, 5])
    matrix = minhash_signatures(tokens, num_perm=32, seed=5, rows=rows, progress=False)
    for row, text in zip(matrix, [texts[i] for i in rows]):
        expected = MinHash(num_perm=32, seed=5)
        expected.update_batch([w.encode() for w in set(rouge_tokens(text))])
        assert np.array_equal(row, expected.hashvalues)
