"""Reference members (``reference: true``): herd entries evaluated from their checkpoint as they are, never
trained (the pipeline run and the report: tests/pipelines/evaluation/test_pipeline.py)."""

from __future__ import annotations

import pytest

from lamini_lm.herd import Herd, ModelSpec, herd_members, reference_members, trained_members
from lamini_lm.parameters import load_parameters
from lamini_lm.pipelines.evaluation.reference_model import load_reference
from lamini_lm.pipelines.training.pipeline import create_pipeline as training_pipeline

REFERENCE_NAME = "ref_gpt2"


def _herd_parameters(folder: str) -> dict:
    parameters = load_parameters("base")
    parameters["models"][REFERENCE_NAME] = {"family": "causal", "reference": True, "checkpoint": folder}
    parameters["herd"] = [*parameters["herd"], REFERENCE_NAME]
    return parameters


def test_a_reference_is_a_herd_member_that_is_not_trained():
    parameters = _herd_parameters("data/06_models/nowhere")
    herd = Herd.from_parameters(parameters)
    assert herd_members(parameters) == ["tiny_t5", "tiny_gpt2", REFERENCE_NAME]
    assert trained_members(parameters) == herd.trained == ["tiny_t5", "tiny_gpt2"]
    assert reference_members(parameters) == herd.references == [REFERENCE_NAME]
    with pytest.raises(ValueError, match=rf"Model '{REFERENCE_NAME}' is a reference .*not trained"):
        herd.hyperparameters(REFERENCE_NAME)
    training = training_pipeline(herd=trained_members(parameters))
    assert {n.namespace for n in training.nodes} == {"tiny_t5", "tiny_gpt2"}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"family": "causal", "reference": True}, "give its 'checkpoint'"),
        ({"family": "causal", "reference": True, "checkpoint": "x", "size_class": "tiny"}, r"remove \['size_class'\]"),
        ({"family": "causal", "reference": True, "checkpoint": "x", "overrides": {"max_steps": 3}}, "overrides"),
        ({"family": "causal", "checkpoint": "x"}, "a trained model needs 'size_class'"),
    ],
)
def test_a_reference_entry_is_checked(entry, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec.model_validate(entry)


@pytest.mark.parametrize("env", ["base", "paper"])
def test_base_and_paper_have_no_reference_members(env):
    assert reference_members(load_parameters(env)) == []


def test_a_missing_reference_folder_is_reported_not_raised(tmp_path):
    spec = ModelSpec.model_validate({"family": "causal", "reference": True, "checkpoint": str(tmp_path / "none")})
    problem = load_reference(spec, member="r")
    assert isinstance(problem, Exception)
    assert "reference 'r' (key 'models.r.checkpoint'" in str(problem) and "no such folder" in str(problem)
