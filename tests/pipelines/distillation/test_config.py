"""The distillation pipeline's conf (base and paper) matches its wiring."""

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog

from lamini_lm.pipelines.distillation import create_pipeline
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
