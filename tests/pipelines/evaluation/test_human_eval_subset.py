"""The paper's human-evaluation subset: 114 of the 252 user-oriented instructions by the published rule
(at most 2 per app; no NLI, sentiment or summarisation), seeded, and the reference answers aligned to it."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.evaluation import instructions
from lamini_lm.pipelines.evaluation.params import UserOrientedParams

RULE = UserOrientedParams.model_validate(conf_block("evaluation.user_oriented"))
# What conf/base's patterns recognise in the 252 (the first matching kind counts; 80 asks for positive
# and negative points of reviews "summarized", so it is sentiment first). No instruction is NLI.
EXCLUDED = {
    80: "sentiment",
    194: "sentiment",
    234: "sentiment",
    81: "summarisation",
    98: "summarisation",
    159: "summarisation",
    160: "summarisation",
    181: "summarisation",
    191: "summarisation",
    199: "summarisation",
    202: "summarisation",
}


@pytest.fixture(scope="module")
def user_oriented(raw_data) -> pd.DataFrame:
    return pd.read_json(raw_data / "human_eval/user_oriented_instructions.jsonl", lines=True)


def test_the_kinds_conf_recognises(user_oriented):
    kinds = {
        row: kind
        for row, text in enumerate(user_oriented["instruction"])
        if (kind := instructions.excluded_kind(text, RULE.exclude))
    }
    assert kinds == EXCLUDED
    assert instructions.excluded_kind("Does the premise entail the hypothesis?", RULE.exclude) == "nli"


def test_114_by_the_published_rule_deterministically(user_oriented):
    subset = instructions.select_human_eval_subset(user_oriented, RULE, 42)
    assert len(subset) == 114 and subset["id"].is_unique
    assert subset["motivation_app"].value_counts().max() <= 2
    assert not set(subset["row"]) & set(EXCLUDED)
    assert subset["row"].is_monotonic_increasing  # the file's order
    assert (subset["instruction"] == user_oriented["instruction"].iloc[subset["row"]].values).all()
    again = instructions.select_human_eval_subset(user_oriented, RULE, 42)
    pd.testing.assert_frame_equal(subset, again)
    other = instructions.select_human_eval_subset(user_oriented, RULE, 7)
    assert len(other) == 114 and set(other["id"]) != set(subset["id"])
    # 71 apps; capped at 2 and without the excluded kinds 122 remain, of which 114 are drawn.
    eligible = user_oriented.drop(index=list(EXCLUDED))
    assert eligible["motivation_app"].value_counts().clip(upper=2).sum() == 122


def test_the_rule_on_a_small_file(caplog):
    frame = pd.DataFrame(
        {
            "id": [f"t{i}" for i in range(7)],
            "motivation_app": ["A", "A", "A", "B", "B", "C", "D"],
            "instruction": [
                "Write a poem.",
                "Write a song.",
                "Write a haiku.",
                "Summarize the article.",
                "Assess the sentiment of the tweet.",
                "Translate the sentence.",
                "Does the first sentence entail the second?",
            ],
        }
    )
    rule = UserOrientedParams.model_validate(conf_block("evaluation.user_oriented", subset_size=2))
    two = instructions.select_human_eval_subset(frame, rule, 0)
    assert len(two) == 2 and set(two["id"]) <= {"t0", "t1", "t2", "t5"}
    roomy = UserOrientedParams.model_validate(conf_block("evaluation.user_oriented", subset_size=10))
    with caplog.at_level(logging.WARNING):
        all_kept = instructions.select_human_eval_subset(frame, roomy, 0)
    assert len(all_kept) == 3 and all_kept["motivation_app"].tolist().count("A") == 2 and "t5" in set(all_kept["id"])
    assert "the rule leaves 3 instructions, fewer than subset_size=10" in caplog.text
    with pytest.raises(ValueError, match=r"missing column\(s\) \['motivation_app'\]"):
        instructions.select_human_eval_subset(frame.drop(columns=["motivation_app"]), rule, 0)


def test_a_bad_pattern_names_its_key():
    with pytest.raises(ValueError, match=r"exclude.nli: '\(' is not a regular expression"):
        UserOrientedParams.model_validate(conf_block("evaluation.user_oriented", exclude={"nli": ["("]}))


def test_reference_answers_follow_the_subset(user_oriented, raw_data):
    predictions = pd.read_json(raw_data / "human_eval/text-davinci-003_predictions.jsonl", lines=True)
    subset = instructions.select_human_eval_subset(user_oriented, RULE, 42)
    answers = instructions.reference_user_answers(predictions, subset, RULE)
    assert answers["id"].tolist() == subset["id"].head(RULE.limit).tolist()
    assert answers["row"].tolist() == subset["row"].head(RULE.limit).tolist()
    assert answers["answer"].iloc[0] == predictions["response"].iloc[subset["row"].iloc[0]].strip()
    shifted = predictions.iloc[1:].reset_index(drop=True)
    with pytest.raises(ValueError, match=r"row 0: its instruction is not the user-oriented file's row 0"):
        instructions.reference_user_answers(shifted, subset, RULE)
