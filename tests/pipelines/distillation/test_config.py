"""The distillation pipeline's conf (base and paper) matches its wiring and its typed parameters."""

import inspect
import typing

import pytest
from conf_params import conf_block
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog
from pydantic import BaseModel, ValidationError

from lamini_lm.pipelines.distillation import create_pipeline
from lamini_lm.pipelines.distillation.params import DistillationParams
from lamini_lm.pipelines.distillation.pipeline import PUBLISHED_SOURCES

IN_MEMORY = {"distillation_requests", *(f"distillation_{name}_pairs" for name in PUBLISHED_SOURCES)}
FROM_OTHER_PIPELINES = {"instruction_pool"}


def _config(project_root, env):
    loader = OmegaConfigLoader(
        str(project_root / "conf"),
        base_env="base",
        default_run_env=env,
        merge_strategy={"parameters": "soft"},
        config_patterns={"catalog": ["catalog_distillation*"], "parameters": ["parameters_distillation*"]},
    )
    return loader["catalog"], loader["parameters"]


@pytest.mark.parametrize("env", ["base", "paper"])
def test_every_dataset_and_parameter_is_declared(project_root, env):
    catalog_conf, params = _config(project_root, env)
    catalog = DataCatalog.from_config(catalog_conf)
    pipeline = create_pipeline()
    for name in pipeline.datasets():
        if name.startswith("params:"):
            if name == "params:teacher":
                continue
            value = params
            for key in name.removeprefix("params:").split("."):
                assert key in value, f"{name} is missing from parameters_distillation.yml ({env})"
                value = value[key]
        elif name not in IN_MEMORY | FROM_OTHER_PIPELINES:
            assert name in catalog, f"{name} has no entry in catalog_distillation.yml ({env})"
    assert "lamini_dataset" in catalog


def test_paper_reads_lamini_instruction_from_the_hub(project_root):
    catalog_conf, params = _config(project_root, "paper")
    assert catalog_conf["distillation_lamini_raw"]["hf_path"] == "MBZUAI/LaMini-instruction"
    assert "filepath" not in catalog_conf["distillation_lamini_raw"]
    lamini = params["distillation"]["imports"]["lamini"]
    assert lamini["format"] == "columns" and lamini["source_column"] == "instruction_source"
    assert params["distillation"]["imports"]["alpaca"]["enabled"] is False
    assert params["distillation"]["assemble"]["splits"]["seed"] == 42


@pytest.mark.parametrize("env", ["base", "paper"])
def test_both_environments_validate(env):
    params = DistillationParams.model_validate(conf_block("distillation", env=env))
    assert set(params.imports) == set(PUBLISHED_SOURCES)


def test_every_params_input_is_a_typed_model():
    """Kedro validates a ``params:`` input only when its annotation is a Pydantic model (not a Union)."""
    for node in create_pipeline().nodes:
        hints = typing.get_type_hints(node.func)
        arguments = list(inspect.signature(node.func).parameters)
        for name, argument in zip(node.inputs, arguments):
            if name.startswith("params:"):
                assert isinstance(hints[argument], type) and issubclass(hints[argument], BaseModel), (node.name, name)


def test_a_typo_names_the_key():
    with pytest.raises(ValidationError, match=r"cleaning\.refusal_window_char\b"):
        DistillationParams.model_validate(conf_block("distillation", cleaning={"refusal_window_char": 300}))
    with pytest.raises(ValidationError, match="each import source's name must be its key"):
        DistillationParams.model_validate(conf_block("distillation", imports={"alpaca": {"name": "lamini"}}))
