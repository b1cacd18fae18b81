"""The typed ``evaluation:`` block, and the statuses results carry instead of exceptions."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block
from kedro.validation.parameter_validator import ParameterValidator
from pydantic import ValidationError

from lamini_lm.herd import ModelSpec
from lamini_lm.parameters import load_parameters
from lamini_lm.pipelines.evaluation import pipeline as ev
from lamini_lm.pipelines.evaluation.outcome import NO_LIVE_JUDGE, Status, frame_status, student_problem
from lamini_lm.pipelines.evaluation.params import EvaluationParams, GenerationParams, ToxicityParams
from lamini_lm.teacher.config import TeacherSettings


@pytest.mark.parametrize("env", ["base", "paper"])
def test_both_environments_validate(env):
    params = EvaluationParams.model_validate(load_parameters(env)["evaluation"])
    assert params.benchmarks.limit == (20 if env == "base" else None)
    assert params.toxicity.classifier == "openai_moderation"


def test_a_typo_or_a_missing_key_names_the_key():
    with pytest.raises(ValidationError, match=r"generation\.max_new_tokns\n  Extra inputs are not permitted"):
        EvaluationParams.model_validate(conf_block("evaluation", generation={"max_new_tokns": 3}))
    block = conf_block("evaluation")
    del block["toxicity"]["threshold"]
    with pytest.raises(ValidationError, match=r"toxicity\.threshold\n  Field required"):
        EvaluationParams.model_validate(block)


@pytest.mark.parametrize("env", ["base", "paper"])
def test_kedro_hands_every_node_its_typed_parameters(monkeypatch, env):
    """What ``kedro run`` does before any node runs: every typed ``params:`` input becomes its model."""
    monkeypatch.setattr(ev, "herd_members", lambda: ["tiny_t5", "tiny_gpt2"])
    raw = load_parameters(env) | {"herd": ["tiny_t5", "tiny_gpt2"]}
    validated = ParameterValidator({"evaluation": ev.create_pipeline()}).validate_raw_params(raw)
    evaluation = validated["evaluation"]
    assert isinstance(evaluation["generation"], GenerationParams)
    assert isinstance(evaluation["toxicity"], ToxicityParams)
    typed = {k for k, v in evaluation.items() if hasattr(v, "model_fields")}
    assert typed == set(EvaluationParams.model_fields) - {"seed"}
    assert isinstance(validated["teacher"], TeacherSettings)
    assert isinstance(validated["models"]["tiny_t5"], ModelSpec)


def test_statuses_keep_the_text_the_report_shows():
    assert NO_LIVE_JUDGE == "not judged (no live judge)"
    assert Status.NOT_SCORED.because("no toxicity classifier configured") == (
        "not scored (no toxicity classifier configured)"
    )
    failed = student_problem(OSError("config.json missing"))
    assert failed == "checkpoint failed to load: OSError: config.json missing"
    assert student_problem(object()) == "checkpoint is not a Student (no 'name'): got object"
    for text, status in [
        ("ok", Status.OK),
        (NO_LIVE_JUDGE, Status.NOT_JUDGED),
        ("not judged (not_found: connection refused)", Status.NOT_JUDGED),
        ("no data: SciQ has no offline copy", Status.NO_DATA),
        (failed, Status.CHECKPOINT_FAILED),
        ("generation failed: RuntimeError: x", Status.GENERATION_FAILED),
        ("bad data: row 1", Status.ERROR),
        ("okay", Status.ERROR),
        (None, Status.ERROR),
    ]:
        assert Status.of(text) is status, text


def test_a_frame_carries_its_status_in_a_column():
    assert frame_status(pd.DataFrame({"answer": ["a", "b"], "status": "judged"})) == Status.JUDGED
    assert frame_status(pd.DataFrame()) == Status.NO_ROWS == "no rows"
