import logging

import pytest
from pydantic import ValidationError

from lamini_lm.pipelines.instruction_generation import nodes
from lamini_lm.pipelines.instruction_generation.report import build_generation_report

from .conftest import fake_results, ig_params


def test_topic_list_drops_maintenance_categories_and_long_names(params):
    raw = "\n".join(
        [
            "Plasma physics",
            "Stub-Class Mumbai articles of Low-importance",
            "CS1 errors: dates",
            "Wikipedia books",
            "Pages using infobox person",
            "Flora of Nepal",
            "Harvard University alumni",
            "20th-century women mathematicians in Poland and Russia",
            "Fantasy novels",
        ]
    )
    topics = nodes.build_topic_list(raw, ig_params(topics={"keep": 10, "max_words": 3}))
    assert topics["topic"].tolist() == [
        "Fantasy novels",
        "Flora of Nepal",
        "Harvard University alumni",
        "Plasma physics",
    ]
    kept = nodes.build_topic_list(raw, ig_params(topics={"keep": 2, "max_words": 3}))
    assert len(kept) == 2 and set(kept["topic"]) <= set(topics["topic"])


def test_generation_prompts_follow_the_paper_and_skip_unconfigured_sources(originals, topics, params, caplog):
    with caplog.at_level(logging.INFO):
        prompts = nodes.build_generation_prompts(originals, topics, params)
    assert prompts["instruction_source"].value_counts().to_dict() == {
        "self_instruct_without_topic": 2,
        "self_instruct_with_topic": 1,
        "generated_p3": 1,
    }
    assert "generated_flan skipped" in caplog.text
    first = prompts.iloc[0]
    shown = "\n".join(f"<example>{example}</example>" for example in first["examples"])
    assert len(first["examples"]) == 2 and first["prompt"].startswith(shown + "\n\n")
    assert "Generate 5 diverse instructions that are similar to the provided examples." in first["prompt"]
    assert set(first["examples"]) <= set(originals["instruction"])
    topical = prompts[prompts["instruction_source"] == "self_instruct_with_topic"].iloc[0]
    assert len(topical["topics"]) == 2 and f'with the topics "{", ".join(topical["topics"])}"' in topical["prompt"]
    again = nodes.build_generation_prompts(originals, topics, params)
    assert again["prompt"].tolist() == prompts["prompt"].tolist()  # seeded


def test_bad_parameters_name_the_key():
    p4 = {"generated_p4": {"example_sources": ["original_p3"], "target_instructions": 5, "topic_guided": False}}
    with pytest.raises(ValidationError, match=r"unknown strategy tag\(s\) \['generated_p4'\]; LaMini's are"):
        ig_params(generation={"strategies": p4})
    seed5 = {"generated_p3": {"example_sources": ["seed5"]}}
    with pytest.raises(ValidationError, match=r"unknown example source\(s\) \['seed5'\]; use \['seed'"):
        ig_params(generation={"strategies": seed5})
    with pytest.raises(ValidationError, match=r"filters\.max_word\b"):
        ig_params(filters={"max_word": 60})


def test_parse_counts_failures_and_drops_the_cut_off_item(originals, topics, params):
    prompts = nodes.build_generation_prompts(originals, topics, params)
    ids = prompts["prompt_id"].tolist()
    results = fake_results(
        prompts,
        {
            ids[0]: ("<example>Describe a rainy day.</example><example>List four prime numbers and expl", "length"),
            ids[1]: (None, "server_error"),
            ids[2]: ("Sorry, I cannot do that.", "stop"),
        },
    )
    candidates = nodes.parse_generations(prompts, results)
    first = candidates[candidates["prompt_id"] == ids[0]]
    assert first["instruction"].tolist() == ["Describe a rainy day.", "List four prime numbers and expl"]
    assert first["reason"].tolist()[1] == nodes.TRUNCATED
    assert not candidates["prompt_id"].isin(ids[1:3]).any()
    assert (candidates["teacher_model"] == "replay:gpt-3.5-turbo").all()


def test_parse_needs_a_result_per_prompt(originals, topics, params):
    prompts = nodes.build_generation_prompts(originals, topics, params)
    with pytest.raises(ValueError, match="no row for prompt"):
        nodes.parse_generations(prompts, fake_results(prompts.iloc[1:], {}))


def test_filter_dedup_and_report_keep_provenance(originals, topics, params):
    prompts = nodes.build_generation_prompts(originals, topics, params)
    ids = prompts["prompt_id"].tolist()
    results = fake_results(
        prompts,
        {
            ids[0]: (
                "1. what is the relation between the given pairs\n2. Draw a map of Europe.\n3. Hi\n"
                "4. Explain why leaves change colour in autumn.\n5. Explain why the leaves change colour in autumn?",
                "stop",
            ),
            ids[1]: (None, "timeout"),
        },
    )
    candidates = nodes.parse_generations(prompts, results)
    accepted, filtered = nodes.filter_instructions(candidates, prompts, params)
    assert set(filtered["reason"]) == {"keyword:draw", "too_short"}
    pool, rejected = nodes.deduplicate_pool(originals, accepted, filtered, params, created_at="2026-01-01T00:00:00Z")

    assert list(pool.columns) == nodes.POOL_COLUMNS
    assert "seed" not in set(pool["instruction_source"])  # seeds: references only
    exact = rejected[rejected["reason"] == "exact_duplicate"].iloc[0]
    assert exact["instruction"] == "what is the relation between the given pairs"
    assert exact["duplicate_of"] == "What is the relation between the given pairs?"
    assert exact["duplicate_of_source"] == "seed" and exact["duplicate_of_ref"] == "seed_task_1"
    near = rejected[rejected["instruction"] == "Explain why the leaves change colour in autumn?"].iloc[0]
    assert near["reason"] == "near_duplicate" and near["rouge_l"] > 0.7
    assert near["duplicate_of"] == "Explain why leaves change colour in autumn."
    kept = pool[pool["instruction"] == "Explain why leaves change colour in autumn."].iloc[0]
    assert kept["prompt_id"] == ids[0] and kept["teacher_model"] == "replay:gpt-3.5-turbo"
    assert rejected["reason"].notna().all()

    report, markdown, figure = build_generation_report(originals, prompts, results, candidates, pool, rejected)
    without = report["generated_sources"]["self_instruct_without_topic"]
    assert without["prompts"] == 2 and without["failed_requests"] == 1 and without["errors"] == {"timeout": 1}
    assert without["rejected_by_reason"] == {"keyword:draw": 1, "too_short": 1}
    assert without["duplicates"] == 2 and without["accepted"] == 1
    assert without["acceptance_rate"] == pytest.approx(1 / 5)
    assert without["duplicate_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["sources_not_configured_or_empty"] == ["original_flan"]
    assert report["pool_size"] == len(pool)
    assert "| self_instruct_without_topic | 2 | 1 |" in markdown
    assert figure.axes[0].get_title() == "Instruction pool: source mix"
