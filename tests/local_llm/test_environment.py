"""conf/local_llm: it validates, its registry holds the conversion first and the real member, and conf/base's
default run is unchanged (no conversion there)."""

from __future__ import annotations

import os

import pytest
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lamini_lm import herd
from lamini_lm.parameters import load_parameters, validate_parameters
from lamini_lm.pipelines.packaged_model.params import PackagedModelParams
from lamini_lm.teacher.local_server import LocalServerSettings

CONVERSION = "convert_packaged_model_node"


@pytest.fixture
def session_for(project_root, monkeypatch):
    """Kedro sessions of an environment; kedro-mlflow's process-wide state (MLFLOW_TRACKING_URI,
    MLFLOW_EXPERIMENT_ID, mlflow's active experiment) is put back afterwards for the tests that follow."""
    import mlflow.tracking.fluent

    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_EXPERIMENT_ID"):
        value = os.environ.get(key)
        monkeypatch.setenv(key, "recorded")  # the original (set or not) is restored at teardown
        if value is None:
            monkeypatch.delenv(key)
        else:
            monkeypatch.setenv(key, value)
    monkeypatch.setattr(mlflow.tracking.fluent, "_active_experiment_id", mlflow.tracking.fluent._active_experiment_id)
    bootstrap_project(project_root)
    opened = []

    def _open(env: str | None):
        session = KedroSession.create(project_path=project_root, env=env)
        opened.append(session)
        session.load_context()
        pipelines.configure("lamini_lm.pipeline_registry")
        return session

    yield _open
    for session in opened:
        session.close()
    herd.ACTIVE_HERD.reset()
    pipelines.configure("lamini_lm.pipeline_registry")


def test_every_block_of_local_llm_validates():
    parameters = load_parameters("local_llm")
    typed = validate_parameters(parameters, where="conf/local_llm")
    assert typed["teacher"].backend == "openai" and not typed["teacher"].replay.serve
    assert typed["teacher"].model == "local:SmolLM2-135M-Instruct"
    assert typed["herd"].herd == ["tiny_t5", "tiny_gpt2", "smollm2_135m", "smollm2_135m_instruct"]
    member = typed["herd"].models["smollm2_135m"]
    assert member.family == "causal" and member.checkpoint == "data/06_models/smollm2_135m_instruct"
    assert typed["herd"].size_classes.for_model("smollm2_135m", member).max_steps > 0  # bounded
    # The same folder, untrained, is the reference row: evaluated, never trained.
    reference = typed["herd"].models["smollm2_135m_instruct"]
    assert reference.reference and reference.checkpoint == member.checkpoint and reference.size_class is None
    assert typed["herd"].trained == ["tiny_t5", "tiny_gpt2", "smollm2_135m"]
    assert typed["herd"].references == ["smollm2_135m_instruct"]
    assert LocalServerSettings.model_validate(parameters["local_server"]).serve
    assert PackagedModelParams.model_validate(parameters["packaged_model"]).licence == "apache-2.0"


def test_base_and_paper_have_no_local_server_or_conversion():
    for env in ("base", "paper"):
        assert not {"local_server", "packaged_model"} & set(load_parameters(env))


def test_local_llm_converts_first_and_every_teacher_or_real_model_node_comes_later(session_for):
    session_for("local_llm")
    assert [n.name for n in pipelines["packaged_model"].nodes] == [CONVERSION]
    groups = pipelines["__default__"].grouped_nodes
    first = {node.name for node in groups[0]}
    assert CONVERSION in first
    later = [node for group in groups[1:] for node in group]
    teacher_nodes = [n.name for n in later if any(i.startswith("params:teacher") for i in n.inputs)]
    assert teacher_nodes  # instruction generation, distillation and the judge ask the served model
    for node in groups[0]:
        assert not any(i.startswith("params:teacher") for i in node.inputs), node.name
        reads_data = any(not i.startswith("params:") for i in node.inputs)  # a node of parameters alone loads nothing
        assert not (reads_data and any(i.startswith("params:models.smollm2_135m") for i in node.inputs)), node.name
    assert any(n.namespace == "smollm2_135m" for n in later)
    # The reference's loader reads parameters only, so it shares the first group with the conversion: the
    # runner runs a group's nodes sorted by name, and the conversion's name sorts first.
    order = [n.name for n in pipelines["__default__"].nodes]
    assert order.index(CONVERSION) < order.index("smollm2_135m_instruct.load_reference_node")


def test_local_llm_reference_is_evaluated_not_trained(session_for):
    session_for("local_llm")
    trained = {n.namespace for n in pipelines["training"].nodes if n.namespace}
    evaluated = {n.namespace.split(".")[0] for n in pipelines["evaluation"].nodes if n.namespace}  # <member>[.<family>]
    assert trained == {"tiny_t5", "tiny_gpt2", "smollm2_135m"}
    assert evaluated == trained | {"smollm2_135m_instruct", "benchmark_data"}  # + the herd-wide benchmark data
    inputs = pipelines["evaluation"].inputs()
    assert "smollm2_135m.checkpoint" in inputs and "smollm2_135m_instruct.checkpoint" not in inputs


def test_base_default_run_has_no_conversion(session_for):
    session_for(None)
    assert not pipelines["packaged_model"].nodes
    assert CONVERSION not in {n.name for n in pipelines["__default__"].nodes}


def test_a_run_of_one_pipeline_finds_it(session_for):
    """Kedro 1.7 loads only the requested pipelines: the registry must not assume `training` is among them."""
    session_for("local_llm")
    pipelines.set_requested(["packaged_model"])
    assert [n.name for n in pipelines["packaged_model"].nodes] == [CONVERSION]
    pipelines.set_requested(["distillation"])
    assert pipelines["distillation"].nodes
