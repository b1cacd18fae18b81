import random

import pytest
from rouge_score import rouge_scorer

from lamini_lm.pipelines.instruction_generation import tokens as tokens_module
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

SCORER = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def _dp_lcs(a, b):
    table = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            table[i + 1][j + 1] = table[i][j] + 1 if x == y else max(table[i][j + 1], table[i + 1][j])
    return table[-1][-1]


def test_lcs_matches_dynamic_programming_on_token_lists_and_strings():
    rng = random.Random(0)
    for _ in range(300):
        a = [rng.choice(["give", "tips", "a", "b", "c"]) for _ in range(rng.randint(0, 90))]
        b = [rng.choice(["give", "tips", "a", "b", "c"]) for _ in range(rng.randint(0, 90))]
        assert lcs_length(a, b) == _dp_lcs(a, b)
        assert lcs_length("".join(w[0] for w in a), "".join(w[0] for w in b)) == _dp_lcs(
            [w[0] for w in a], [w[0] for w in b]
        )


def test_rouge_l_equals_rouge_score_package():
    pairs = [
        ("Give three tips for staying healthy.", "Give 3 tips for staying healthy and happy!"),
        ("What is the capital of France?", "Name the capital city of France."),
        ("Translate 'hello' into German.", "Write a poem about the sea."),
        ("a a a b", "a b a b a"),
        ("", "anything at all"),
        ("the the the the", "the"),
    ]
    for a, b in pairs:
        expected = SCORER.score(a, b)["rougeL"].fmeasure
        assert rouge_l(rouge_tokens(a), rouge_tokens(b)) == expected


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
    matrix = minhash_signatures(tokenise(texts), num_perm=64, seed=1, progress=False)
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
    tokens = tokenise(texts)
    assert [tokens.words[i] for i in tokens.of(1)] == rouge_tokens(texts[1])
    rows = np.array([0, 300, 301, 302, 5])
    matrix = minhash_signatures(tokens, num_perm=32, seed=5, rows=rows, progress=False)
    for row, text in zip(matrix, [texts[i] for i in rows]):
        expected = MinHash(num_perm=32, seed=5)
        expected.update_batch([w.encode() for w in set(rouge_tokens(text))])
        assert np.array_equal(row, expected.hashvalues)


def _words(count: int, start: int = 0) -> list[str]:
    return [f"w{i}" for i in range(start, start + count)]


@pytest.mark.parametrize(
    ("shared", "extra_a", "extra_b"),
    [(7, 0, 6), (7, 3, 3), (21, 2, 16), (14, 0, 12), (14, 6, 6)],
)
def test_a_score_of_exactly_seven_tenths_is_decided_like_rouge_score(shared, extra_a, extra_b):
    # ROUGE-L is exactly 0.7 for all of these (2 * shared == 0.7 * (len a + len b)); rouge-score's
    # float puts some above 0.7 (a duplicate for Self-Instruct's "> 0.7") and some not.
    a = " ".join(_words(shared) + _words(extra_a, 100))
    b = " ".join(_words(shared) + _words(extra_b, 200))
    assert 20 * shared == 7 * (2 * shared + extra_a + extra_b)
    expected = SCORER.score(a, b)["rougeL"].fmeasure
    result = deduplicate([a, b], lsh_threshold=0.2, jaccard_floor=0.0, seed=1, progress=False)
    assert result["keep"].tolist() == [True, not expected > 0.7]
    if expected > 0.7:
        assert result.loc[1, "rouge_l"] == expected


def test_both_sides_of_the_rounding_occur():
    above = SCORER.score(" ".join(_words(7)), " ".join(_words(7) + _words(6, 200)))["rougeL"].fmeasure
    level = SCORER.score(" ".join(_words(7) + _words(3, 100)), " ".join(_words(7) + _words(3, 200)))
    assert above > 0.7 and level["rougeL"].fmeasure == 0.7


def test_empty_and_tokenless_texts():
    texts = ["", "   ", "!!!", "Give three tips for staying healthy.", "", "!!!", "?"]
    result = deduplicate(texts, progress=False)
    # "" and "   " are the same text once stripped; "!!!" repeats; "?" is new. None bucket with words.
    assert result["keep"].tolist() == [True, False, True, True, False, False, True]
    assert result.loc[1, "duplicate_of"] == 0 and result.loc[5, "duplicate_of"] == 2
    assert set(result.loc[~result["keep"], "reason"]) == {"exact_duplicate"}
    assert deduplicate([], progress=False).empty
    assert deduplicate([""], progress=False)["keep"].tolist() == [True]


def test_repeated_tokens_are_scored_as_sequences_not_sets():
    # Same token set (Jaccard 1.0), order reversed: LCS 1 of lengths 3 and 9, ROUGE-L 1/6.
    texts = ["apple banana cherry", "cherry cherry cherry banana banana banana apple apple apple"]
    assert rouge_l(*map(rouge_tokens, texts)) == SCORER.score(*texts)["rougeL"].fmeasure == 2 / 12
    assert deduplicate(texts, lsh_threshold=0.2, jaccard_floor=0.0, progress=False)["keep"].tolist() == [True, True]
    repeated = ["go go go go go go go go go go", "go go go go go go go go go"]  # LCS 9: F = 18/19
    result = deduplicate(repeated, lsh_threshold=0.2, jaccard_floor=0.0, progress=False)
    assert result["keep"].tolist() == [True, False]
    assert result.loc[1, "rouge_l"] == SCORER.score(*repeated)["rougeL"].fmeasure


def test_tokenise_joins_texts_without_mixing_them_up():
    texts = ["Hello, World!", "", "naïve İstanbul", "x\x00y z", "3 plus 4"]
    with_nul = tokenise(texts)  # a NUL inside a text: tokenised one by one
    plain = tokenise([t for t in texts if "\x00" not in t])
    assert [[with_nul.words[i] for i in with_nul.of(k)] for k in range(5)] == [rouge_tokens(t) for t in texts]
    assert [[plain.words[i] for i in plain.of(k)] for k in range(4)] == [
        rouge_tokens(t) for t in texts if "\x00" not in t
    ]
    assert tokenise([]).offsets.tolist() == [0]


def test_a_vocabulary_too_large_for_characters_gives_the_same_decisions(monkeypatch):
    texts = [
        "Give three tips for staying healthy.",
        "Give three useful tips for staying healthy.",
        "Explain how photosynthesis works in plants.",
    ]
    expected = deduplicate(texts, lsh_threshold=0.3, seed=1, progress=False)
    monkeypatch.setattr(tokens_module, "_MAX_ID", 2)
    assert isinstance(tokenise(texts).sequences()[0], tuple)
    assert deduplicate(texts, lsh_threshold=0.3, seed=1, progress=False).equals(expected)
