"""The scale-out benchmark backends: ``hf_parallelize`` (accelerate device map) and ``vllm``."""

from __future__ import annotations

import sys
import types

import pytest
from pydantic import ValidationError
from test_nodes import SETTINGS, SST2_DOCS, benchmark_settings

from lamini_lm.pipelines.evaluation import harness


@pytest.mark.parametrize("student_fixture", ["causal_student", "seq2seq_student"])
def test_hf_parallelize_scores_like_the_in_memory_model(request, student_fixture):
    # On this CPU-only machine accelerate's device map puts every layer on the CPU: the same
    # lm-eval path as on GPUs (checkpoint saved to a folder, HFLM(parallelize=True) loads it).
    student = request.getfixturevalue(student_fixture)
    in_memory = harness.evaluate_benchmark(student, SST2_DOCS, SETTINGS, 0, "lamini_sst2.yaml")
    parallel = harness.evaluate_benchmark(
        student, SST2_DOCS, benchmark_settings(backend="hf_parallelize"), 0, "lamini_sst2.yaml"
    )
    assert in_memory["status"] == parallel["status"] == "ok", parallel.get("reason")
    assert parallel["value"] == pytest.approx(in_memory["value"])


def test_vllm_gets_the_saved_checkpoint_and_its_settings(causal_student, seq2seq_student, monkeypatch, tmp_path):
    seen = {}

    class RecordingVLLM:  # vLLM needs a GPU: record what lm-eval's VLLM would be built with
        def __init__(self, **kwargs):
            from transformers import AutoModelForCausalLM

            seen.update(kwargs)
            seen["loaded"] = AutoModelForCausalLM.from_pretrained(kwargs["pretrained"])

    # lm-eval's vllm module imports vllm itself (GPU only): stand in for the module.
    monkeypatch.setitem(sys.modules, "lm_eval.models.vllm_causallms", types.SimpleNamespace(VLLM=RecordingVLLM))
    settings = benchmark_settings(backend="vllm", vllm={"tensor_parallel_size": 2, "gpu_memory_utilization": 0.8})
    lm = harness.lm_eval_model(causal_student, settings, tmp_path)
    assert isinstance(lm, RecordingVLLM)
    assert seen["tensor_parallel_size"] == 2 and seen["gpu_memory_utilization"] == 0.8
    assert seen["pretrained"].startswith(str(tmp_path))
    assert sum(p.numel() for p in seen["loaded"].parameters()) == sum(
        p.numel() for p in causal_student.model.parameters()
    )
    with pytest.raises(ValueError, match="decoder-only"):
        harness.lm_eval_model(seq2seq_student, settings, tmp_path)
    with pytest.raises(ValidationError, match=r"backend\n.*'hf', 'hf_parallelize' or 'vllm'"):
        benchmark_settings(backend="vlm")  # a typo fails when the parameters are validated


def test_vllm_missing_is_reported_for_that_task(causal_student, monkeypatch):
    monkeypatch.setitem(sys.modules, "lm_eval.models.vllm_causallms", None)  # import fails like without vLLM
    result = harness.evaluate_benchmark(
        causal_student, SST2_DOCS, benchmark_settings(backend="vllm"), 0, "lamini_sst2.yaml"
    )
    assert result["status"] == "error" and "pip install vllm" in result["reason"]
