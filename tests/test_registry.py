"""The registry builds the herd of the *active* environment, as `kedro run --env=...` sees it."""

from __future__ import annotations

import pytest
from conf_params import conf_block
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from pydantic import ValidationError

from lamini_lm import herd

PIPELINES = {"instruction_generation", "distillation", "training", "evaluation"}


def _herd_keys() -> dict:
    """conf/base's herd blocks (models, herd, size classes and their variants)."""
    return {key: conf_block(key) for key in herd.HERD_KEYS}


def _namespaces(pipe) -> set[str]:
    return {n.namespace.split(".")[0] for n in pipe.nodes if n.namespace}


@pytest.fixture
def session_for(project_root):
    bootstrap_project(project_root)
    opened = []

    def _open(env: str | None, runtime_params: dict | None = None):
        session = KedroSession.create(project_path=project_root, env=env, runtime_params=runtime_params)
        opened.append(session)
        session.load_context()  # runs the hook that records the environment's config loader
        pipelines.configure("lamini_lm.pipeline_registry")  # forget pipelines of an earlier env
        return session

    yield _open
    for session in opened:
        session.close()
    herd.ACTIVE_HERD.reset()
    pipelines.configure("lamini_lm.pipeline_registry")


def test_every_pipeline_is_registered_and_default_is_their_union(session_for):
    session_for(None)
    assert PIPELINES <= set(pipelines.keys())
    union = set()
    for name in PIPELINES:
        union |= {n.name for n in pipelines[name].nodes}
    assert {n.name for n in pipelines["__default__"].nodes} == union


def test_base_environment_trains_the_tiny_herd(session_for):
    session = session_for(None)
    expected = set(session.load_context().params["herd"])
    assert expected == {"tiny_t5", "tiny_gpt2"}
    assert _namespaces(pipelines["training"]) == expected


def test_paper_environment_instantiates_the_paper_herd(session_for):
    session = session_for("paper")
    paper_herd = session.load_context().params["herd"]
    assert len(paper_herd) == 17  # EACL Table 3: 6 encoder-decoder + 11 decoder-only
    assert "lamini_flan_t5_783m" in paper_herd and "tiny_t5" not in paper_herd
    assert _namespaces(pipelines["training"]) == set(paper_herd)
    # the notebooks' way: context.params holds Kedro's validated (typed) parameters
    assert herd.herd_members(session.load_context().params) == paper_herd


def test_training_includes_the_data_chain_and_default_is_unchanged(session_for):
    session_for(None)
    training = pipelines["training"]
    # distillation's teacher-free chain builds lamini_dataset, so a fresh clone can train
    assert "lamini_dataset" in training.all_outputs() and "lamini_dataset" not in training.inputs()
    assert not any(i.startswith("params:teacher") for i in training.all_inputs())
    assert set(pipelines["distillation"].nodes) | set(training.nodes) <= set(pipelines["__default__"].nodes)


def test_one_run_parameter_switches_the_flan_t5_card_variant_and_the_llama_checkpoint(session_for):
    session = session_for(
        "paper",
        runtime_params={
            "size_class_variant": "flan_t5_card",
            "models": {"lamini_llama_7b": {"checkpoint": "/data/llama-7b-hf"}},
        },
    )
    typed = herd.Herd.from_parameters(session.load_context().params)
    assert typed.hyperparameters("lamini_flan_t5_783m").effective_batch_size == 512
    assert typed.hyperparameters("lamini_gpt2_1_5b").effective_batch_size == 1024
    assert typed.models["lamini_llama_7b"].checkpoint == "/data/llama-7b-hf"
    assert typed.models["lamini_llama_7b"].paper_reference == "LaMini-LLaMA-7B"  # the rest of the entry stays
    assert herd.ACTIVE_HERD.herd().size_class_variant == "flan_t5_card"  # what the pipelines are built from


def test_a_herd_typo_in_the_run_parameters_fails_naming_the_key(session_for):
    session_for(None, runtime_params={"size_classes": {"tiny": {"per_device_batch_size": 0}}})
    with pytest.raises(ValidationError, match=r"size_classes\.tiny\.per_device_batch_size"):
        pipelines["training"]


def test_the_active_herd_is_the_sessions_until_reset(session_for):
    session_for("paper")
    assert len(herd.herd_members()) == 17
    herd.ACTIVE_HERD.reset()  # no session: conf/ of $KEDRO_ENV (unset here: base)
    assert herd.herd_members() == ["tiny_t5", "tiny_gpt2"]


def test_a_herd_member_without_a_model_entry_names_the_member():
    params = {**_herd_keys(), "models": {}, "herd": ["ghost"]}
    with pytest.raises(ValueError, match=r"\['ghost'\] \(key 'herd'\) have no entry under 'models'"):
        herd.herd_members(params)


def test_an_unknown_family_names_the_model_and_key():
    params = {
        **_herd_keys(),
        "models": {"odd": {**conf_block("models.tiny_gpt2"), "family": "diffusion"}},
        "herd": ["odd"],
    }
    with pytest.raises(ValueError, match=r"models\.odd\.family"):
        herd.herd_members(params)


# Stage tags (docs/kedro.md): `kedro run --tags=<stage>` runs `pipelines["__default__"].only_nodes_with_tags(stage)`.
STAGES = {"generation", "distillation", "training", "benchmarks", "answers", "judging", "reporting"}


def _tagged(stage: str) -> set[str]:
    return {n.name for n in pipelines["__default__"].only_nodes_with_tags(stage).nodes}


@pytest.mark.parametrize(("env", "extra"), [(None, set()), ("paper", set()), ("local_llm", {"packaged_model"})])
def test_every_node_carries_exactly_one_stage_tag(session_for, env, extra):
    session_for(env)
    stages = STAGES | extra
    # A member's model loader carries the tag of every stage that takes the model (it is held in memory).
    loaders = {"load_student_node", "load_reference_node"}
    nodes = pipelines["__default__"].nodes
    wrong = {
        n.name: sorted(n.tags) for n in nodes if len(n.tags & stages) != 1 and n.name.split(".")[-1] not in loaders
    }
    assert not wrong, f"nodes without exactly one of {sorted(stages)}: {wrong}"
    loader_tags = {n.name: n.tags & stages for n in nodes if n.name.split(".")[-1] in loaders}
    assert loader_tags and all(tags >= {"benchmarks", "answers", "reporting"} for tags in loader_tags.values())
    assert {t for n in pipelines["__default__"].nodes for t in n.tags} == stages


def test_kedro_run_tags_select_each_stage(session_for):
    session_for(None)
    assert _tagged("generation") == {n.name for n in pipelines["instruction_generation"].nodes}
    assert _tagged("training") == {n.name for n in pipelines["training"].nodes} - _tagged("distillation")
    assert {n.namespace for n in pipelines["__default__"].only_nodes_with_tags("training").nodes} == {
        "tiny_t5",
        "tiny_gpt2",
    }
    assert {"ask_teacher_node", "clean_teacher_answers_node", "assemble_lamini_dataset_node"} <= _tagged("distillation")
    assert {"write_summary_node", "embed_instructions_node", "build_herd_report_node"} <= _tagged("reporting")
    assert "tiny_t5.benchmarks.evaluate_arc_challenge_node" in _tagged("benchmarks")
    assert {"tiny_gpt2.hallucination.answer_falseqa_node", "tiny_gpt2.toxicity.score_toxicity_node"} <= _tagged(
        "answers"
    )
    assert {"tiny_gpt2.hallucination.judge_falseqa_node", "run_judge_check_node"} <= _tagged("judging")


def test_stage_tags_follow_what_the_nodes_do(session_for):
    session_for(None)
    nodes = pipelines["__default__"].nodes
    for node in nodes:
        inputs = set(node.inputs)
        if "judging" in node.tags:  # only the judge's nodes judge
            assert "params:evaluation.judge" in inputs, node.name
        if "benchmarks" in node.tags:  # benchmarks call no teacher and no judge
            assert not any(i.startswith(("params:teacher", "params:evaluation.judge")) for i in inputs), node.name
        if node.name.endswith(("answer_user_instructions_node", "answer_alpaca_eval_node", "answer_falseqa_node")):
            assert "answers" in node.tags, node.name
