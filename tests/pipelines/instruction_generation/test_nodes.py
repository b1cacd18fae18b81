import logging
import re

import pytest
from conf_params import conf_block
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
    topics, stats = nodes.build_topic_list(raw, ig_params(topics={"keep": 10, "max_words": 3}))
    assert topics["topic"].tolist() == [
        "Fantasy novels",
        "Flora of Nepal",
        "Harvard University alumni",
        "Plasma physics",
    ]
    assert (stats["categories"], stats["after_maintenance_filter"], stats["within_max_words"], stats["kept"]) == (
        9,
        5,
        4,
        4,
    )
    kept, _ = nodes.build_topic_list(raw, ig_params(topics={"keep": 2, "max_words": 3}))
    assert len(kept) == 2 and set(kept["topic"]) <= set(topics["topic"])
    # The paper's "fewer than three words" (conf/base and conf/paper: max_words 2)
    papers, stats = nodes.build_topic_list(raw, ig_params(topics={"keep": 3500, "max_words": 2}))
    assert papers["topic"].tolist() == ["Fantasy novels", "Plasma physics"]
    assert "no sub-category counts" in stats["rule"]["more_than_10_subcategories"]
    assert "at least 200 pages" in stats["rule"]["more_than_50_pages"]


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
    p4 = {"generated_p4": conf_block("instruction_generation.generation.strategies.generated_p3")}
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
                "1. what are the three primary colors\n2. Draw a map of Europe.\n3. Hi\n"
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
    assert exact["instruction"] == "what are the three primary colors"
    assert exact["duplicate_of"] == "What are the three primary colors?"
    assert exact["duplicate_of_source"] == "alpaca" and exact["duplicate_of_ref"] == "alpaca/2"
    near = rejected[rejected["instruction"] == "Explain why the leaves change colour in autumn?"].iloc[0]
    assert near["reason"] == "near_duplicate" and near["rouge_l"] > 0.7
    assert near["duplicate_of"] == "Explain why leaves change colour in autumn."
    kept = pool[pool["instruction"] == "Explain why leaves change colour in autumn."].iloc[0]
    assert kept["prompt_id"] == ids[0] and kept["teacher_model"] == "replay:gpt-3.5-turbo"
    assert rejected["reason"].notna().all()

    topic_stats = nodes.build_topic_list("Plasma physics\nFlora of Nepal", params)[1]
    report, markdown, figure = build_generation_report(
        originals, prompts, results, candidates, pool, rejected, topic_stats, params
    )
    without = report["generated_sources"]["self_instruct_without_topic"]
    assert without["prompts"] == 2 and without["failed_requests"] == 1 and without["errors"] == {"timeout": 1}
    assert without["rejected_by_reason"] == {"keyword:draw": 1, "too_short": 1}
    assert without["duplicates"] == 2 and without["accepted"] == 1
    assert without["acceptance_rate"] == pytest.approx(1 / 5)
    assert without["duplicate_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert report["sources_not_configured_or_empty"] == ["original_flan"]
    assert report["pool_size"] == len(pool)
    flat = re.sub(" +", " ", markdown)  # DataFrame.to_markdown pads the cells
    assert re.search(r"\| self_instruct_without_topic(\[\^\d+\])* \| 2 \| 1 \|", flat)
    assert figure.axes[0].get_title() == "Instruction pool: source mix"
    # The report says how the run follows the paper, and labels our additions
    recipe = report["recipe"]
    assert recipe["strategies"]["generated_p3"]["examples_from_one_subset"] is True
    assert recipe["near_duplicate_removal"]["enabled"] is True
    assert "our addition: the paper removes none" in recipe["near_duplicate_removal"]["note"]
    assert "| generated_p3 | original_p3 | 5 | yes | no |" in flat
    assert "more than 10 subcategories: not applied: the bundled file has no sub-category counts" in markdown
    assert "is our addition: the paper removes none — on." in markdown


def _p3_originals(templates: dict[str, int]):
    import pandas as pd

    rows = [
        (f"{template} prompt number {i} asks something.", "original_p3", f"{template}/{i}", template)
        for template, n in templates.items()
        for i in range(n)
    ]
    return pd.DataFrame(rows, columns=["instruction", "instruction_source", "source_id", "subset"])


def test_p3_and_flan_prompts_draw_all_their_examples_from_one_subset(topics):
    originals = _p3_originals({"squad_q": 5, "imdb_s": 5, "wiqa_a": 1})
    params = ig_params(
        generation={
            "examples_per_prompt": 3,
            "strategies": {
                "self_instruct_without_topic": {"target_instructions": 0},
                "self_instruct_with_topic": {"target_instructions": 0},
                "generated_p3": {"target_instructions": 300, "instructions_per_prompt": 10},
            },
        }
    )
    prompts = nodes.build_generation_prompts(originals, topics, params)
    subset_of = dict(zip(originals["instruction"], originals["subset"]))
    assert len(prompts) == 30 and set(prompts["requested"]) == {10}  # the paper's 10 per P3 prompt
    for subset, examples in zip(prompts["subset"], prompts["examples"]):
        assert {subset_of[e] for e in examples} == {subset}  # one template per prompt
        assert len(examples) == (1 if subset == "wiqa_a" else 3)  # a smaller subset shows all it has
    assert set(prompts["subset"]) == {"squad_q", "imdb_s", "wiqa_a"}  # subsets chosen at random
    # Without the rule the same pool mixes templates within a prompt.
    mixed = ig_params(
        generation={
            "examples_per_prompt": 3,
            "strategies": {
                "self_instruct_without_topic": {"target_instructions": 0},
                "self_instruct_with_topic": {"target_instructions": 0},
                "generated_p3": {"target_instructions": 300, "examples_from_one_subset": False},
            },
        }
    )
    spread = nodes.build_generation_prompts(originals, topics, mixed)
    assert any(len({subset_of[e] for e in examples}) > 1 for examples in spread["examples"])


def test_one_subset_needs_subsets(originals, topics):
    params = ig_params(generation={"strategies": {"self_instruct_without_topic": {"examples_from_one_subset": True}}})
    with pytest.raises(ValueError, match=r"self_instruct_without_topic\.examples_from_one_subset.*no 'subset'"):
        nodes.build_generation_prompts(originals, topics, params)


@pytest.mark.parametrize("env", ["base", "paper"])
def test_self_instruct_examples_are_the_175_seed_tasks_only(env, raw_data, topics):
    """EACL §3: Alpaca's instructions are not used in generation; 20 per Self-Instruct prompt, 10 per P3/FLAN."""
    from lamini_lm.datasets.instruction_source import InstructionSourceDataset
    from lamini_lm.pipelines.instruction_generation.params import InstructionGenerationParams

    params = InstructionGenerationParams.model_validate(conf_block("instruction_generation", env=env))
    strategies = params.generation.strategies
    for tag in ("self_instruct_without_topic", "self_instruct_with_topic"):
        assert strategies[tag].example_sources == ["seed"] and strategies[tag].instructions_per_prompt == 20
        assert not strategies[tag].examples_from_one_subset
    for tag in ("generated_p3", "generated_flan"):
        assert strategies[tag].instructions_per_prompt == 10 and strategies[tag].examples_from_one_subset
    assert params.generation.examples_per_prompt == 3 and params.topics.max_words == 2 and params.topics.keep == 3500

    seeds = InstructionSourceDataset(filepath=str(raw_data / "seeds/self_instruct_seed_tasks.jsonl")).load()
    alpaca = InstructionSourceDataset(
        filepath=str(raw_data / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json")
    ).load()
    originals = nodes.normalise_sources(seeds, alpaca, None, None)
    small = params.model_copy(deep=True)
    for tag in ("self_instruct_without_topic", "self_instruct_with_topic"):
        small.generation.strategies[tag].target_instructions = 400
    prompts = nodes.build_generation_prompts(originals, topics, small)
    seed_texts = set(originals.loc[originals["instruction_source"] == "seed", "instruction"])
    assert len(seed_texts) == 175 and len(prompts) == 40
    assert all(set(examples) <= seed_texts for examples in prompts["examples"])
    assert "Generate 20 diverse instructions" in prompts["prompt"].iloc[0]


@pytest.mark.parametrize(("near", "dropped"), [(True, 2), (False, 1)])
def test_near_duplicate_removal_is_switchable(originals, topics, near, dropped):
    params = ig_params(dedup={"near_duplicates": near})
    prompts = nodes.build_generation_prompts(originals, topics, params)
    results = fake_results(
        prompts,
        {
            prompts["prompt_id"].iloc[0]: (
                "1. Explain why leaves change colour in autumn.\n2. Explain why the leaves change colour in autumn?\n"
                "3. explain why leaves change colour in autumn",
                "stop",
            )
        },
    )
    candidates = nodes.parse_generations(prompts, results)
    accepted, filtered = nodes.filter_instructions(candidates, prompts, params)
    pool, rejected = nodes.deduplicate_pool(originals, accepted, filtered, params, created_at="2026-01-01T00:00:00Z")
    leaves = rejected[rejected["instruction"].str.contains("leaves")]
    assert len(leaves) == dropped and "exact_duplicate" in set(leaves["reason"])
    assert ("near_duplicate" in set(leaves["reason"])) is near
