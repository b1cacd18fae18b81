"""Where nothing can succeed, the teacher stops within seconds, naming ``teacher.base_url``, and a
pipeline step whose requests all failed fails instead of saving an empty output over a good one."""

from __future__ import annotations

import socket
import time

import pandas as pd
import pytest
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from teacher_helpers import instructions, requests_for, settings_for, teacher_settings

from lamini_lm.datasets.parquet import AtomicParquetDataset
from lamini_lm.pipelines.distillation import nodes as distillation
from lamini_lm.pipelines.instruction_generation import nodes as generation
from lamini_lm.teacher import (
    AllRequestsFailed,
    TeacherUnavailable,
    complete,
    require_answers,
)

TRANSPORTS = pytest.mark.parametrize("transport", ["aiohttp", "sdk"])


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _unreachable(**overrides):
    # conf/base's retries and backoff: today's defaults cost minutes per request against a closed port.
    return teacher_settings(
        base_url=f"http://127.0.0.1:{_closed_port()}/v1", cache_path=None, progress=False, **overrides
    )


@TRANSPORTS
def test_a_closed_port_stops_the_call_at_once_naming_the_setting(transport, corpus):
    started = time.monotonic()
    out = complete(requests_for(instructions(corpus, 30)), _unreachable(transport=transport))
    assert time.monotonic() - started < 5
    assert out["error_kind"].eq("teacher_unavailable").sum() >= 29  # the rest were never sent
    assert "params:teacher.base_url" in out["error_message"].iloc[-1]
    with pytest.raises(TeacherUnavailable, match=r"params:teacher\.base_url"):
        require_answers(out, _unreachable(), "distillation")


def test_the_first_n_failing_the_same_way_stop_the_call(replay, corpus, tmp_path):
    replay.set_faults(rate_500=1.0)
    settings = settings_for(replay, tmp_path, max_retries=1, fail_fast_after=5, max_concurrency=2)
    started = time.monotonic()
    out = complete(requests_for(instructions(corpus, 200)), settings)
    assert time.monotonic() - started < 10
    assert replay.stats["requests"] < 30  # 5 requests x 2 attempts, plus what was in flight
    assert out["error_kind"].eq("teacher_unavailable").sum() > 180
    assert "first 5 teacher requests all failed with 'server_error'" in out["error_message"].iloc[-1]


def test_fail_fast_waits_for_an_answer_of_any_kind(replay, corpus, tmp_path):
    """Failures after an answer (or beside cached answers) are the requests' own, not the endpoint's."""
    texts = instructions(corpus, 12)
    settings = settings_for(replay, tmp_path, fail_fast_after=3, max_retries=0, max_concurrency=1)
    complete(requests_for(texts[:1]), settings)
    replay.set_faults(rate_500=1.0)
    out = complete(requests_for(texts), settings)
    assert out["error_kind"].eq("server_error").sum() == 11  # all sent: one answer was cached


def test_require_answers_leaves_a_dry_run_and_partial_results_alone():
    ok = pd.DataFrame({"request_id": ["a", "b"], "error_kind": [None, "bad_request"], "error_message": [None, "x"]})
    require_answers(ok, teacher_settings(), "step")
    dry = pd.DataFrame({"request_id": ["a"], "error_kind": ["dry_run"], "error_message": ["dry_run: not sent"]})
    require_answers(dry, teacher_settings(), "step")
    failed = pd.DataFrame({"request_id": ["a"], "error_kind": ["budget_exceeded"], "error_message": ["cap"]})
    with pytest.raises(AllRequestsFailed, match=r"step: every one of the 1 .*teacher\.max_cost_usd"):
        require_answers(failed, teacher_settings(), "step")


def _node_run_keeps(tmp_path, node: Node, inputs: dict, output: str) -> None:
    """Run ``node`` in a one-node pipeline whose output file holds a good earlier result; it must fail
    with the teacher's error and leave that file as it was."""
    path = tmp_path / f"{output}.parquet"
    good = pd.DataFrame({"request_id": ["old"], "text": ["a good earlier answer"]})
    good.to_parquet(path)
    before = path.read_bytes()
    catalog = DataCatalog({output: AtomicParquetDataset(filepath=str(path))})
    for name, value in inputs.items():
        catalog[name] = value
    started = time.monotonic()
    with pytest.raises(TeacherUnavailable, match=r"params:teacher\.base_url"):
        SequentialRunner().run(Pipeline([node]), catalog)
    assert time.monotonic() - started < 10
    assert path.read_bytes() == before


def test_instruction_generation_with_an_unreachable_teacher_fails_and_keeps_the_previous_results(tmp_path):
    prompts = pd.DataFrame(
        {
            "prompt_id": ["p0", "p1"],
            "prompt": ["Write three instructions.", "Write four instructions."],
            "temperature": [1.0, 1.0],
            "max_tokens": [64, 64],
        }
    )
    node = Node(generation.request_generations, ["prompts", "params:teacher"], "results", name="request_generations")
    _node_run_keeps(tmp_path, node, {"prompts": prompts, "params:teacher": _unreachable()}, "results")


def test_distillation_with_an_unreachable_teacher_fails_and_keeps_the_previous_results(tmp_path):
    requests = requests_for(["What is the capital of France?", "Name a prime number."])
    node = Node(distillation.ask_teacher, ["requests", "params:teacher"], ["results", "projection"], name="ask")
    catalog_inputs = {"requests": requests, "params:teacher": _unreachable()}
    _node_run_keeps(tmp_path, node, catalog_inputs, "results")
