"""RACE as lm-eval v0.3 scores it: one document per article, its last question asked with the earlier ones
answered in the context (1,045 documents from RACE-high test's 3,498 questions)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from lm_eval_parity import lm_eval_requests, our_requests

from lamini_lm.pipelines.evaluation import harness
from lamini_lm.pipelines.evaluation.normalisers import race_documents

ROWS = yaml.safe_load((Path(__file__).parent / "fixtures/hub_docs.yaml").read_text())["race"]
TOM = ROWS[0]["article"]
LIBRARY = ROWS[2]["article"]
RAW = {"records": ROWS, "source": "hf:ehovy/race/high:test"}


def test_one_document_per_article_in_first_appearance_order():
    result = harness.prepare_benchmark_docs(RAW, "race")  # the node (prepare_benchmark_docs_race_node)
    assert result["reason"] is None
    docs = result["docs"]
    assert [d["article"] for d in docs] == [TOM, LIBRARY]
    assert [d["example_id"] for d in docs] == ["high90001.txt", "high90002.txt"]
    assert [[p["question"] for p in d["problems"]] for d in docs] == [
        ["Where does Tom live?", "Tom found the bottle  _  .", "What can we learn from the passage?"],
        ["How many books can a student borrow?"],
    ]
    assert docs[0]["problems"][2] == {
        "question": "What can we learn from the passage?",
        "options": [
            "Tom never got an answer.",
            "The letter was written by Tom's friend.",
            "The girl answered Tom's letter.",
            "Tom's dog found the letter.",
        ],
        "answer": "C",
    }


def test_the_exact_context_both_prompt_versions(tmp_path):
    docs = race_documents(ROWS)
    earlier = "Question: Where does Tom live?\nAnswer: In a small town near the sea.\n"
    options = [" Tom never got an answer.", " The letter was written by Tom's friend."]
    options += [" The girl answered Tom's letter.", " Tom's dog found the letter."]
    expected = {
        # lm-eval 0.4.13 (race/preprocess_race.py): a fill-in-the-blank question completed in place.
        "lm_eval_0_4": f"Article: {TOM}\n\n{earlier}Tom found the bottle on the beach\nWhat can we learn from the passage?",
        # v0.3 (race.py @ the authors' fork): question[-5:] keeps " _  ." and drops the question's text.
        "paper_2023": f"Article: {TOM}\n\n{earlier} _  .on the beach\nWhat can we learn from the passage?",
    }
    for version, context in expected.items():
        tom, library = our_requests("race", docs, version, tmp_path)
        assert tom == (tuple((context, option) for option in options), frozenset({2}))
        assert library == (
            tuple(
                (f"Article: {LIBRARY}\n\nHow many books can a student borrow?", f" {o}")
                for o in ["Two.", "Five.", "Six.", "Nine."]
            ),
            frozenset({1}),
        )
    assert our_requests("race", docs, "lm_eval_0_4", tmp_path) == lm_eval_requests("race", docs)


def test_a_bad_row_is_named():
    bad = [ROWS[0], ROWS[1] | {"answer": "E"}]
    result = harness.prepare_benchmark_docs({"records": bad, "source": "race.jsonl"}, "race")
    assert result["docs"] is None and "row 1" in result["reason"] and "answer 'E'" in result["reason"]
    with pytest.raises(ValueError, match=r"'race' \(s\), row 0: missing field 'question'"):
        race_documents([{k: v for k, v in ROWS[0].items() if k != "question"}], "s")


def test_offline_no_data_and_the_paper_reads_race_high_test(project_root):
    base = yaml.safe_load((project_root / "conf/base/catalog_evaluation.yml").read_text())["benchmark_raw_race"]
    assert "no_data" in base and "filepath" not in base
    paper = yaml.safe_load((project_root / "conf/paper/catalog_evaluation.yml").read_text())["benchmark_raw_race"]
    assert paper["hf"] == {"path": "ehovy/race", "name": "high", "split": "test"}
