"""kedro-viz shows the environment a user names: `kedro viz run --env=paper` (no project hooks, kedro-viz's
default) and `KEDRO_ENV=paper kedro viz build` (`make viz-build ENV=paper`) list the paper's herd."""

from __future__ import annotations

import pytest
from kedro.framework.project import pipelines
from kedro_viz.api.rest.responses.pipelines import get_kedro_project_json_data
from kedro_viz.data_access import data_access_manager
from kedro_viz.server import load_and_populate_data

from lamini_lm import herd
from lamini_lm.parameters import load_parameters

pytestmark = pytest.mark.slow  # each kedro-viz load builds the whole project (~10 s here)

LAYERS = ["raw", "intermediate", "primary", "feature", "model_input", "models", "model_output", "reporting"]


@pytest.fixture
def viz(project_root):
    """kedro-viz's API as `kedro viz run` serves it: ``viz(env)`` → the JSON of ``/api/pipelines/<pipeline>``."""

    def _load(env: str | None, pipeline: str = "training") -> dict:
        data_access_manager.reset_fields()
        # What `kedro viz run --env=<env>` calls in its server process (include_hooks is off by default).
        load_and_populate_data(project_root, env=env, include_hooks=False, package_name="lamini_lm")
        return get_kedro_project_json_data(pipeline)

    yield _load
    data_access_manager.reset_fields()
    herd.ACTIVE_HERD.reset()
    pipelines.configure("lamini_lm.pipeline_registry")


def _members(graph: dict) -> set[str]:
    """Herd members kedro-viz shows: the top-level namespaces (collapsible groups) of the task nodes."""
    return {n["modular_pipelines"][0] for n in graph["nodes"] if n["type"] == "task" and n["modular_pipelines"]}


def _trained(graph: dict) -> set[str]:
    """The members whose ``train_student_node`` kedro-viz lists."""
    return {
        n["modular_pipelines"][0]
        for n in graph["nodes"]
        if n["type"] == "task" and n["modular_pipelines"] and n["name"] == "train_student_node"
    }


def test_viz_run_env_paper_shows_the_paper_herd_without_hooks(viz):
    paper_herd = set(load_parameters("paper")["herd"])
    assert len(paper_herd) == 17
    graph = viz("paper")
    assert _members(graph) == _trained(graph) == paper_herd


def test_viz_build_with_kedro_env_paper_agrees_with_viz_run(viz, monkeypatch):
    monkeypatch.setenv("KEDRO_ENV", "paper")  # `make viz-build ENV=paper`: `kedro viz build` has no --env
    assert _trained(viz(None)) == set(load_parameters("paper")["herd"])


def test_viz_of_the_demo_shows_its_herd_every_layer_in_order_and_the_stage_tags(viz):
    graph = viz(None, pipeline="__default__")
    assert _trained(graph) == {"tiny_t5", "tiny_gpt2"}
    # kedro-viz sorts the layers from the graph and drops them all when one layer feeds an earlier one
    assert graph["layers"] == LAYERS
    assert {t["id"] for t in graph["tags"]} == {
        "generation",
        "distillation",
        "training",
        "benchmarks",
        "answers",
        "judging",
        "reporting",
    }
    unlayered = {n["name"] for n in graph["nodes"] if n["type"] == "data" and n["layer"] is None}
    # only the in-memory hand-overs between two nodes, which the catalog does not declare
    assert "lamini_dataset" not in unlayered and "tiny_t5.checkpoint" not in unlayered
    assert all(
        name.endswith(
            (
                "_pairs",
                "_requests",
                "_instructions",
                "_rejections",
                "_stats",
                "_summary",
                "hyperparameters",
                "_examples",
            )
        )
        for name in unlayered
    ), unlayered
