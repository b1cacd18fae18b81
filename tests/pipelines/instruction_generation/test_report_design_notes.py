"""The generation report explains the numbers that come from the run's design — each note present when its
cause is (a replay teacher, pool_sources, a source not configured, ...) and absent otherwise — and shows
the counts and a Wilson interval beside every rate."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from lamini_lm.pipelines.instruction_generation import nodes
from lamini_lm.pipelines.instruction_generation.report import build_generation_report, wilson_interval

from .conftest import ig_params

TOPIC_STATS = {
    "categories": 2,
    "after_maintenance_filter": 2,
    "max_words": 3,
    "within_max_words": 2,
    "keep": 50,
    "kept": 2,
    "rule": {"fewer_than_three_words": "applied (topics.max_words)"},
}
DEFAULT_REPLY = "1. Explain how rainbows form.\n2. Name a famous painter of the Dutch golden age."


def _results(prompts: pd.DataFrame, replies: dict[str, str], teacher: str, cost: float) -> pd.DataFrame:
    """Teacher results as ``lamini_lm.teacher.complete`` returns them: every prompt answered by ``teacher``."""
    return pd.DataFrame(
        [
            {
                "request_id": prompt_id,
                "text": replies.get(prompt_id, DEFAULT_REPLY),
                "finish_reason": "stop",
                "prompt_tokens": 100,
                "completion_tokens": 40,
                "cost_usd": cost,
                "latency_s": 0.01,
                "attempts": 1,
                "cached": False,
                "error_kind": None,
                "error_message": None,
                "teacher_model": teacher,
            }
            for prompt_id in prompts["prompt_id"]
        ]
    )


def _report(originals, topics, params=None, replies=None, teacher="replay:instruction-pool", cost=0.0):
    """The whole chain on tiny inputs (prompts → replies → parse → filters → dedup) and its report."""
    params = params or ig_params()
    prompts = nodes.build_generation_prompts(originals, topics, params)
    results = _results(prompts, replies(prompts) if replies else {}, teacher, cost)
    candidates = nodes.parse_generations(prompts, results)
    accepted, filtered = nodes.filter_instructions(candidates, prompts, params)
    pool, rejected = nodes.deduplicate_pool(originals, accepted, filtered, params, created_at="2026-01-01T00:00:00Z")
    report, markdown, _ = build_generation_report(
        originals, prompts, results, candidates, pool, rejected, TOPIC_STATS, params
    )
    return report, markdown


def _notes(report: dict, note_id: str) -> dict[str | None, str]:
    return {n["source"]: n["text"] for n in report["notes"] if n["id"] == note_id}


def test_replay_duplicates_are_explained_by_what_they_repeat(originals, topics):
    # the first prompt's reply repeats an Alpaca instruction; every other prompt repeats the default reply
    def replies(prompts):
        return {prompts["prompt_id"].iloc[0]: "1. What are the three primary colors?\n2. Describe a quiet harbour."}

    report, markdown = _report(originals, topics, replies=replies)
    without = report["generated_sources"]["self_instruct_without_topic"]
    assert without["duplicates_of"]["alpaca"] == 1
    note = _notes(report, "replay_duplicates")
    assert "1 repeat original instructions (alpaca 1)" in note["self_instruct_without_topic"]
    assert "`replay:instruction-pool`" in note["self_instruct_without_topic"]
    # the later prompts repeat what the replay teacher returned for the first one
    with_topic = report["generated_sources"]["self_instruct_with_topic"]
    assert with_topic["duplicates"] == 2 and "repeat original" not in note["self_instruct_with_topic"]
    assert (
        "2 repeat instructions it returned for another prompt (self_instruct_without_topic 2)"
        in (note["self_instruct_with_topic"])
    )
    assert "measures the replay corpus, not a teacher" in markdown


def test_a_live_teacher_with_the_same_duplicates_gets_no_replay_note(originals, topics):
    report, markdown = _report(originals, topics, teacher="gpt-4o-mini", cost=0.001)
    assert report["generated_sources"]["self_instruct_with_topic"]["duplicates"] == 2
    assert not _notes(report, "replay_duplicates") and "replay corpus" not in markdown
    assert not _notes(report, "free_teacher")


def test_originals_left_out_by_pool_sources_are_explained(originals, topics):
    narrow, markdown = _report(originals, topics, params=ig_params(pool_sources=["alpaca"]))
    left_out = _notes(narrow, "not_in_pool_sources")
    p3 = narrow["original_sources"]["original_p3"]
    assert (p3["loaded"], p3["in_pool_sources"], p3["in_pool"]) == (1, False, 0)
    assert left_out["original_p3"].startswith("1 loaded, none in the pool: `pool_sources` (alpaca) leaves it out")
    assert "prompt examples of generated_p3" in left_out["original_p3"]
    assert "prompt examples of self_instruct_without_topic, self_instruct_with_topic" in left_out["seed"]
    assert re.search(r"\| original_p3\[\^\d+\] +\| +1 \| +0 \| no ", markdown)

    wide, _ = _report(originals, topics)  # original_p3 is in pool_sources: only the seeds are left out
    assert set(_notes(wide, "not_in_pool_sources")) == {"seed"}
    assert wide["original_sources"]["original_p3"]["in_pool"] == 1


def test_sources_not_configured_name_the_strategies_they_stop(originals, topics):
    report, markdown = _report(originals, topics)
    assert report["sources_not_configured_or_empty"] == ["original_flan"]
    assert report["strategies_without_prompts"] == {"generated_flan": "no examples: original_flan loaded no rows"}
    note = _notes(report, "not_configured_or_empty")["original_flan"]
    assert note.endswith("generated_flan, which draws its examples from it, sent no prompts.")
    assert re.search(r"Sources not configured or empty: original_flan\[\^\d+\]", markdown)

    flan = pd.DataFrame(
        {
            "instruction": ["Translate to French: good morning, my friend."],
            "instruction_source": ["original_flan"],
            "source_id": ["flan/1"],
            "subset": ["wmt"],
        }
    )
    configured, markdown = _report(pd.concat([originals, flan], ignore_index=True), topics)
    assert configured["sources_not_configured_or_empty"] == [] and not _notes(configured, "not_configured_or_empty")
    assert "generated_flan" in configured["generated_sources"] and "Sources not configured or empty: none." in markdown

    off = ig_params(generation={"strategies": {"generated_p3": {"target_instructions": 0}}})
    report, _ = _report(originals, topics, params=off)
    assert _notes(report, "no_prompts") == {"generated_p3": "sent no prompts: target_instructions is 0."}
    assert "generated_p3" not in _notes(report, "not_configured_or_empty")["original_flan"]


def test_replies_that_parse_to_nothing_are_counted_and_a_local_teacher_named(originals, topics):
    def replies(prompts):
        return {pid: "Sure! Here are some ideas for you." for pid in prompts["prompt_id"]}

    report, markdown = _report(originals, topics, replies=replies, teacher="local:SmolLM2-135M-Instruct")
    without = report["generated_sources"]["self_instruct_without_topic"]
    assert without["replies_parsed_to_nothing"] == 2 and without["items_parsed"] == 0
    assert without["acceptance_rate"] is None and without["acceptance_ci95"] is None  # no items: no rate
    text = _notes(report, "empty_replies")["self_instruct_without_topic"]
    assert text.startswith("2 of 2 replies held no numbered, bulleted or tagged item")
    assert "a model on this machine (`local:SmolLM2-135M-Instruct`)" in text
    assert "0 (0 of 2 prompts)" in markdown and "– (0 items)" in markdown

    parsed, _ = _report(originals, topics, teacher="gpt-4o-mini", cost=0.001)
    assert not _notes(parsed, "empty_replies")


def test_rates_carry_their_counts_and_a_wilson_interval(originals, topics):
    report, markdown = _report(originals, topics)
    without = report["generated_sources"]["self_instruct_without_topic"]
    # 2 prompts, the same 2 items each: the second prompt's items are exact duplicates of the first's
    assert (without["items_parsed"], without["passed_filters"], without["duplicates"]) == (4, 4, 2)
    assert without["prompts_with_accepted"] == 1 and without["accepted"] == 2
    assert without["duplicate_ci95"] == wilson_interval(2, 4) == [0.15, 0.85]
    assert "2 (1 of 2 prompts)" in markdown and "2/4 = 50.0% (15%–85%)" in markdown
    assert "Wilson 95 % interval" in markdown


def test_wilson_interval_matches_the_formula():
    assert wilson_interval(1, 4) == pytest.approx([0.0456, 0.6994], abs=1e-4)
    assert wilson_interval(0, 200) == pytest.approx([0.0, 0.0188], abs=1e-4)
    assert wilson_interval(0, 0) is None


def test_near_duplicates_among_originals_are_labelled_our_addition(topics):
    originals = pd.DataFrame(
        {
            "instruction": [
                "Give three tips for staying healthy.",
                "What are the three primary colors?",
                "Answer the question about the passage: Paris is the capital of France. What is the capital city?",
                "Answer the question about the passage: Paris is the capital of France. Which is the capital city?",
            ],
            "instruction_source": ["seed", "alpaca", "original_p3", "original_p3"],
            "source_id": ["seed_task_0", "alpaca/1", "squad/1", "squad/2"],
            "subset": [None, None, "squad", "squad"],
        }
    )
    report, _ = _report(originals, topics)
    text = _notes(report, "near_duplicates")["original_p3"]
    assert text.startswith("1 of its 2 rows were dropped as near duplicates (ROUGE-L > 0.7")
    assert "all 1 repeat a row of original_p3 itself" in text and "the paper removes none" in text
    exact_only, _ = _report(originals, topics, params=ig_params(dedup={"near_duplicates": False}))
    assert not _notes(exact_only, "near_duplicates")


def test_an_unpriced_teacher_explains_the_zero_cost(originals, topics):
    replay, markdown = _report(originals, topics)
    assert _notes(replay, "free_teacher")[None].startswith("$0 for ")
    assert "is the replay teacher, which the configured prices do not charge" in markdown
    local, _ = _report(originals, topics, teacher="local:tiny")
    assert "is a model on this machine" in _notes(local, "free_teacher")[None]
    assert not _notes(_report(originals, topics, cost=0.001)[0], "free_teacher")  # replay, but priced
    assert not _notes(_report(originals, topics, teacher="gpt-4o-mini")[0], "free_teacher")  # API at price 0


def test_every_footnote_marker_has_one_definition_in_order(originals, topics):
    _, markdown = _report(originals, topics, params=ig_params(pool_sources=["alpaca"]))
    markers = [int(n) for n in re.findall(r"\[\^(\d+)\](?!:)", markdown)]
    definitions = [int(n) for n in re.findall(r"^\[\^(\d+)\]:", markdown, flags=re.M)]
    assert markers == definitions == list(range(1, len(markers) + 1)) and len(markers) >= 4
