"""The whole pipeline with SequentialRunner on an in-memory catalog: a fake teacher, then the replay one."""

import json

import pandas as pd
from conf_params import conf_block
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from lamini_lm.datasets.instruction_source import InstructionSourceDataset
from lamini_lm.pipelines.instruction_generation import create_pipeline
from lamini_lm.pipelines.instruction_generation.nodes import POOL_COLUMNS
from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.replay import serve

from .conftest import fake_results

OUTPUTS = [
    "wikipedia_topics",
    "ig_topic_stats",
    "ig_original_instructions",
    "ig_generation_prompts",
    "ig_generation_results",
    "ig_generated_candidates",
    "ig_accepted_instructions",
    "ig_filter_rejections",
    "instruction_pool",
    "rejected_instructions",
    "generation_report",
    "generation_report_md",
    "generation_source_mix_plot",
]


class KeptDataset(MemoryDataset):
    """A MemoryDataset the runner cannot release, so the test can read intermediate outputs."""

    def _release(self) -> None:
        pass


def _catalog(tmp_path, raw_data, params, teacher) -> DataCatalog:
    alpaca = json.loads((raw_data / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json").read_text())[:40]
    (tmp_path / "alpaca.json").write_text(json.dumps(alpaca), encoding="utf-8")
    p3_lines = (raw_data / "sources/p3/t0_train_sample.jsonl").read_text(encoding="utf-8").splitlines()[:60:3]
    (tmp_path / "p3.jsonl").write_text("\n".join(p3_lines) + "\n", encoding="utf-8")
    categories = "\n".join(["Plasma physics", "Stub-Class Media articles", "Flora of Nepal", "Fantasy novels"])
    catalog = DataCatalog(
        datasets={
            "ig_seed_tasks": InstructionSourceDataset(filepath=str(raw_data / "seeds/self_instruct_seed_tasks.jsonl")),
            "ig_alpaca": InstructionSourceDataset(filepath=str(tmp_path / "alpaca.json")),
            "ig_p3": InstructionSourceDataset(filepath=str(tmp_path / "p3.jsonl")),
            "ig_flan": InstructionSourceDataset(),
            "ig_wikipedia_categories": MemoryDataset(categories),
            **{name: KeptDataset() for name in OUTPUTS},
        }
    )
    catalog["params:instruction_generation"] = params
    catalog["params:teacher"] = teacher
    return catalog


def test_pipeline_with_a_fake_teacher(tmp_path, raw_data, params, monkeypatch):
    from lamini_lm import teacher

    seen = {}

    def fake_complete(requests, settings):
        seen["requests"] = requests
        prompts = pd.DataFrame({"prompt_id": requests["request_id"]})
        return fake_results(prompts, {})

    monkeypatch.setattr(teacher, "complete", fake_complete)
    monkeypatch.setattr(teacher, "project_cost", lambda requests, settings: {"requests": len(requests)})
    catalog = _catalog(tmp_path, raw_data, params, TeacherSettings.model_validate(conf_block("teacher", model="fake")))
    SequentialRunner().run(create_pipeline(), catalog)

    assert seen["requests"]["messages"].iloc[0][0]["role"] == "user"
    assert seen["requests"]["temperature"].eq(1.0).all()
    pool = catalog.load("instruction_pool")
    assert list(pool.columns) == POOL_COLUMNS
    generated = pool[pool["prompt_id"].notna()]
    # Every prompt got the same 2-item reply: only the first prompt's items survive dedup.
    assert generated["instruction"].tolist() == ["Explain how rainbows form.", "Name a famous painter."]
    report = catalog.load("generation_report")
    assert report["pool_size"] == len(pool) and report["totals"]["prompts"] == 4


def test_pipeline_end_to_end_against_the_replay_teacher(tmp_path, raw_data, params):
    with serve(latency_ms=0, faults={"rate_length": 0.5}, seed=3) as replay:
        teacher = TeacherSettings.model_validate(
            conf_block(
                "teacher",
                base_url=replay.base_url,
                cache_path=str(tmp_path / "cache.sqlite"),
                progress=False,
                max_retries=1,
                max_tokens=256,
                replay={"serve": False},  # this test serves its own replay teacher
            )
        )
        catalog = _catalog(tmp_path, raw_data, params, teacher)
        SequentialRunner().run(create_pipeline(), catalog)
        sent = sum(replay.received.values())

    prompts = catalog.load("ig_generation_prompts")
    results = catalog.load("ig_generation_results")
    assert sent == len(prompts) == 4 and results["error_kind"].isna().all()
    pool = catalog.load("instruction_pool")
    generated = pool[pool["prompt_id"].notna()]
    assert set(generated["instruction_source"]) == {
        "self_instruct_without_topic",
        "self_instruct_with_topic",
        "generated_p3",
    }
    assert generated["teacher_model"].str.startswith("replay:").all()
    assert not pool.duplicated("instruction").any()
    rejected = catalog.load("rejected_instructions")
    assert rejected["reason"].notna().all()
    truncated = results["finish_reason"].eq("length").sum()
    assert (rejected["reason"] == "truncated_by_length").sum() == truncated
    report = catalog.load("generation_report")
    assert report["sources_not_configured_or_empty"] == ["original_flan"]
    candidates = catalog.load("ig_generated_candidates")
    for result in results.itertuples():
        items = candidates[candidates["prompt_id"] == result.request_id]
        if result.finish_reason == "stop":  # the replay honours "Generate 5 diverse instructions"
            assert len(items) == 5 and items["reason"].isna().all()
        else:  # cut in half by the injected fault: the last, partial item is rejected
            assert len(items) < 5 and items["reason"].tolist()[-1] == "truncated_by_length"
    assert 0 < truncated < len(results)
