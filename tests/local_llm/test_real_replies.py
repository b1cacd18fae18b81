"""What a real 135M model writes, through the pipelines' own parsing, filters and cleaning (read-only use).

tests/fixtures/local_llm/smollm2_replies.jsonl holds real replies of SmolLM2-135M-Instruct (README beside it):
every reply must be parsed into instructions or rejected with a reason, every answer kept or logged with one.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.distillation.cleaning import clean_teacher_answers
from lamini_lm.pipelines.distillation.params import CleaningParams
from lamini_lm.pipelines.instruction_generation.nodes import filter_instructions, parse_generations
from lamini_lm.pipelines.instruction_generation.params import InstructionGenerationParams
from lamini_lm.pipelines.instruction_generation.parsing import parse_instructions

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "local_llm" / "smollm2_replies.jsonl"
REPLIES = [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]
RESULT = ["text", "finish_reason", "prompt_tokens", "completion_tokens", "teacher_model"]


def _kind(kind: str) -> list[dict]:
    return [r for r in REPLIES if r["kind"] == kind]


def _results(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame([{"request_id": r["request_id"], **{c: r[c] for c in RESULT}} for r in rows])
    return frame.assign(error_kind=None, error_message=None, cost_usd=0.0, latency_s=0.0, attempts=1, cached=False)


def test_the_fixture_is_real_replies_of_the_served_model():
    assert len(_kind("instruction_generation")) >= 10 and len(_kind("distillation")) >= 20
    assert {r["teacher_model"] for r in REPLIES} == {"local:SmolLM2-135M-Instruct"}
    assert all(0 < r["completion_tokens"] <= r["max_tokens"] for r in REPLIES)


@pytest.mark.parametrize("reply", _kind("instruction_generation"), ids=lambda r: r["request_id"])
def test_every_generation_reply_parses_or_yields_nothing(reply):
    items, dropped = parse_instructions(reply["text"], reply["finish_reason"])
    assert all(isinstance(item, str) and item.strip() for item in items)
    assert "<example>" not in " ".join(items)
    if reply["finish_reason"] == "length" and (items or dropped):
        assert dropped is not None  # the cut-off last item is never kept


def test_every_generated_candidate_is_accepted_or_rejected_with_a_reason():
    rows = _kind("instruction_generation")
    prompts = pd.DataFrame(
        {
            "prompt_id": [r["request_id"] for r in rows],
            "instruction_source": [r["instruction_source"] for r in rows],
            "examples": [r["examples"] for r in rows],
            "topics": [[] for _ in rows],
            "prompt": [r["prompt"] for r in rows],
            "requested": [r["requested"] for r in rows],
            "temperature": [r["temperature"] for r in rows],
            "max_tokens": [r["max_tokens"] for r in rows],
        }
    )
    candidates = parse_generations(prompts, _results(rows))
    assert len(candidates) > 0  # some replies are lists, though without the <example> tags asked for
    params = InstructionGenerationParams.model_validate(conf_block("instruction_generation", env="local_llm"))
    accepted, rejected = filter_instructions(candidates, prompts, params)
    assert len(accepted) + len(rejected) == len(candidates)
    assert rejected["reason"].notna().all() and (rejected["reason"].astype(str) != "").all()


def test_every_real_answer_is_kept_or_logged_with_a_reason():
    rows = _kind("distillation")
    requests = pd.DataFrame(
        {
            "request_id": [r["request_id"] for r in rows],
            "instruction": [r["prompt"] for r in rows],
            "instruction_source": [r["instruction_source"] for r in rows],
        }
    )
    settings = CleaningParams.model_validate(conf_block("distillation.cleaning", env="local_llm"))
    kept, log, report = clean_teacher_answers(requests, _results(rows), settings)
    assert report["kept"] + report["dropped"] == len(rows) == len(kept) + len(log)
    assert log["reason"].notna().all()
    cut = {r["request_id"] for r in rows if r["finish_reason"] == "length"}
    assert cut == set(log.loc[log["reason"] == "truncated", "request_id"])  # cut-off answers are named as such
    assert kept["response"].str.strip().str.len().gt(0).all()
    assert set(kept["teacher_model"]) <= {"local:SmolLM2-135M-Instruct"}
