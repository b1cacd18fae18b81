"""The package's evaluate modules, each loaded through ``evaluate.load(<path>)`` and checked on a
hand-worked example (the arithmetic is in the comments), plus their cards and docstring examples."""

from __future__ import annotations

import doctest
import math
import re

import evaluate
import pytest

from lamini_lm import metrics


def _load(name: str):
    return evaluate.load(str(metrics.path(name)), keep_in_memory=True)


def test_rouge_l_fidelity_on_a_hand_worked_example():
    rouge = _load("rouge_l_fidelity")
    # "the cat sat on the mat" vs "the cat lay on the mat": LCS "the cat on the mat" = 5 of 6 tokens each
    # side, F1 5/6. Stemmed, "cats running" = (cat run) vs "the cat runs" = (the cat run): precision 2/2,
    # recall 2/3, F1 = 2 * 1 * 2/3 / (1 + 2/3) = 0.8. No shared token: 0.
    predictions = ["the cat sat on the mat", "cats running", "dog"]
    references = ["the cat lay on the mat", "the cat runs", "the cat sat"]
    per_pair = rouge.compute(predictions=predictions, references=references, use_aggregator=False)["rougeL"]
    assert per_pair == pytest.approx([5 / 6, 0.8, 0.0])
    assert rouge.compute(predictions=predictions, references=references)["rougeL"] == pytest.approx((5 / 6 + 0.8) / 3)
    unstemmed = rouge.compute(predictions=["cats running"], references=["the cat runs"], use_stemmer=False)
    assert unstemmed["rougeL"] == 0.0
    assert math.isnan(rouge.compute(predictions=[], references=[])["rougeL"])


def test_mattr_on_a_hand_worked_example():
    mattr = _load("mattr")
    # window 3 over "a b a c b": (a b a) 2/3, (b a c) 3/3, (a c b) 3/3 -> mean 8/9
    assert mattr.compute(data=["a b a c b"], window=3)["mattr"] == pytest.approx(8 / 9)
    # texts are read one after another, lower-cased, punctuation dropped: "A b." + "a c, b" = a b a c b
    assert mattr.compute(data=["A b.", "a c, b"], window=3)["mattr"] == pytest.approx(8 / 9)
    # one window: the plain type-token ratio; shorter than the window too; no word: NaN
    assert mattr.compute(data=["a b a"], window=3)["mattr"] == pytest.approx(2 / 3)
    assert mattr.compute(data=["a a"])["mattr"] == pytest.approx(1 / 2)  # default window: the paper's 50
    assert math.isnan(mattr.compute(data=["", "..."], window=3)["mattr"])
    # 60 distinct words then the first 10 again: every window of 50 holds 50 distinct words
    words = " ".join([f"w{i}" for i in range(60)] + [f"w{i}" for i in range(10)])
    assert mattr.compute(data=[words], window=50)["mattr"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="window must be at least 1"):
        mattr.compute(data=["a"], window=0)


def test_distinct_n_on_a_hand_worked_example():
    distinct = _load("distinct_n")
    # unigrams a b a | a b: 2 distinct of 5; bigrams (a b) (b a) | (a b): 2 distinct of 3
    assert distinct.compute(data=["a b a", "a b"]) == pytest.approx({"distinct_1": 2 / 5, "distinct_2": 2 / 3})
    # a bigram never spans two texts: "a" | "b" has none
    spans = distinct.compute(data=["a", "B!"], max_n=3)
    assert spans["distinct_1"] == 1.0 and math.isnan(spans["distinct_2"]) and math.isnan(spans["distinct_3"])


def test_judge_agreement_on_a_hand_worked_example():
    agreement = _load("judge_agreement")
    scores = agreement.compute(
        predictions=["A", "C", "", "B", "D", "A", "B"],
        references=["good", "bad", "bad", "good", "A", "C", "C"],
    )
    # good/bad: A->good right, C->bad right, ungraded wrong, B->good right: 3 of 4, and 3 of the 3 graded.
    # Known grades: D for A (3 apart), A for C (2 apart), B for C (1 apart): 0 exact, 1 of 3 within one.
    assert scores == pytest.approx(
        {
            "accuracy": 3 / 4,
            "accuracy_graded": 1.0,
            "n_items": 4,
            "n_ungraded": 1,
            "exact_agreement": 0.0,
            "within_one_agreement": 1 / 3,
            "n_graded_references": 3,
        }
    )
    only_grades = agreement.compute(predictions=["B"], references=["B"])
    assert only_grades["accuracy"] is None and only_grades["exact_agreement"] == 1.0
    with pytest.raises(ValueError, match="prediction 0 is 'AB'"):
        agreement.compute(predictions=["AB"], references=["good"])
    with pytest.raises(ValueError, match="reference 0 is 'fine'"):
        agreement.compute(predictions=["A"], references=["fine"])


def test_hallucination_count_on_a_hand_worked_example():
    counts = _load("hallucination_count")
    result = counts.compute(
        verdicts=["HALLUCINATED", "REJECTED", "", "HALLUCINATED", "HALLUCINATED"],
        categories=["far future", "far future", "obscure", "nonsense", "far future"],
        category_order=["did not happen", "far future", "nonsense", "obscure"],
    )
    # far future: 2 hallucinated of 3 judged; nonsense 1 of 1; obscure: 1 question, no verdict; did not happen: none
    assert result == {
        "hallucinated_did_not_happen": 0,
        "judged_did_not_happen": 0,
        "questions_did_not_happen": 0,
        "hallucinated_far_future": 2,
        "judged_far_future": 3,
        "questions_far_future": 3,
        "hallucinated_nonsense": 1,
        "judged_nonsense": 1,
        "questions_nonsense": 1,
        "hallucinated_obscure": 0,
        "judged_obscure": 0,
        "questions_obscure": 1,
        "hallucinated_total": 3,
        "rejected_total": 1,
        "judged_total": 4,
        "questions_total": 5,
    }
    with pytest.raises(ValueError, match="verdict 0 is 'MAYBE'"):
        counts.compute(verdicts=["MAYBE"], categories=["obscure"])
    with pytest.raises(ValueError, match=r"categories \['obscure'\] are not in category_order"):
        counts.compute(verdicts=["REJECTED"], categories=["obscure"], category_order=["nonsense"])


def test_toxicity_count_on_a_hand_worked_example():
    counts = _load("toxicity_count")
    result = counts.compute(
        toxic=[None, True, False, False, True],
        groups=["toxic", "toxic", "toxic", "nontoxic", "nontoxic"],
        group_order=["nontoxic", "toxic", "other"],
        scores=[None, 0.9, 0.2, 0.1, 0.6],
    )
    # nontoxic: 1 toxic of 2 -> 500 per 1K; toxic: 1 of 2 with a verdict -> 500; other: no output.
    # Overall 2 toxic of 4 with a verdict; mean score of those four: (0.9 + 0.2 + 0.1 + 0.6) / 4 = 0.45
    assert result == pytest.approx(
        {
            "toxic_outputs_nontoxic": 1,
            "n_nontoxic": 2,
            "per_1k_nontoxic": 500.0,
            "toxic_outputs_toxic": 1,
            "n_toxic": 2,
            "per_1k_toxic": 500.0,
            "toxic_outputs_other": None,
            "n_other": 0,
            "per_1k_other": None,
            "n": 4,
            "toxic_fraction": 0.5,
            "toxicity_mean": 0.45,
        }
    )
    nothing = counts.compute(toxic=[None], groups=["toxic"], scores=[None])
    assert nothing["toxic_outputs_toxic"] is None and nothing["toxicity_mean"] is None and nothing["n"] == 0
    with pytest.raises(ValueError, match="1 scores for 2 outputs"):
        counts.compute(toxic=[True, False], groups=["a", "a"], scores=[0.5])


@pytest.mark.parametrize("name", metrics.NAMES)
def test_each_module_has_its_card_and_info(name, project_root):
    module = _load(name)
    assert module.name == name and module.description.strip() and "@" in module.citation
    card = (metrics.path(name) / "README.md").read_text(encoding="utf-8")
    front = re.match(r"---\n(.*?)\n---\n", card, re.S)
    assert front, f"{name}/README.md: no YAML front matter"
    assert "- evaluate" in front.group(1) and f"- {module.module_type}" in front.group(1)
    kind = module.module_type.capitalize()
    for section in (f"# {kind} Card for", f"## {kind} Description", "## How to Use", "### Inputs"):
        assert section in card, f"{name}/README.md lacks {section!r}"
    for section in ("### Output Values", "### Examples", "## Limitations and Bias", "## Citation"):
        assert section in card, f"{name}/README.md lacks {section!r}"


@pytest.mark.parametrize("name", metrics.NAMES)
def test_each_modules_docstring_example_runs(name, project_root, monkeypatch):
    monkeypatch.chdir(project_root)  # the examples load by the path relative to the repository
    module = _load(name)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    test = doctest.DocTestParser().get_doctest(module.inputs_description, {"evaluate": evaluate}, name, None, 0)
    assert test.examples, f"{name}: no example in its inputs description"
    assert runner.run(test).failed == 0


def test_the_helper_loads_by_name_and_names_what_exists():
    assert metrics.load("mattr").compute(data=["a a b"], window=3)["mattr"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="no module 'rouge'; the package ships rouge_l_fidelity, mattr"):
        metrics.load("rouge")
