"""Every pipeline's parameters in conf/base and conf/paper validate against its typed model, and a
typo or a wrong type in either environment fails, naming the key."""

from __future__ import annotations

import shutil

import pytest
import yaml
from conf_params import merge

from lamini_lm.parameters import ParameterError, load_parameters, pipeline_models, validate_parameters

PROJECT_WIDE = {"seed"}  # conf/base/parameters.yml: shared values, interpolated into the pipeline blocks


EVERY_ENV = {"teacher", "instruction_generation", "distillation", "herd", "training", "evaluation"}


@pytest.mark.parametrize(
    ("env", "optional"), [("base", set()), ("paper", set()), ("local_llm", {"packaged_model", "local_server"})]
)
def test_every_pipeline_block_of_the_environment_validates(env, optional):
    typed = validate_parameters(load_parameters(env), where=f"conf/{env}")
    assert set(typed) == EVERY_ENV | optional


@pytest.mark.parametrize("env", ["base", "paper", "local_llm"])
def test_every_top_level_key_belongs_to_a_typed_model(env):
    covered = {key for keys in pipeline_models() for key in keys}
    assert set(load_parameters(env)) - covered == PROJECT_WIDE


@pytest.fixture
def conf_copy(tmp_path, project_root):
    target = tmp_path / "conf"
    shutil.copytree(project_root / "conf", target, ignore=shutil.ignore_patterns("local"))
    (target / "local").mkdir()
    return target


def _override(conf, env: str, override: dict) -> None:
    """Merge ``override`` into the conf/<env> file that holds its top-level key (Kedro forbids a key twice)."""
    for key, value in override.items():
        holder = next(
            (p for p in sorted((conf / env).glob("parameters*.yml")) if key in (yaml.safe_load(p.read_text()) or {})),
            conf / env / f"parameters_{key}_override.yml",
        )
        content = yaml.safe_load(holder.read_text()) if holder.exists() else {}
        holder.write_text(yaml.safe_dump(merge(content, {key: value}), sort_keys=False))


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"distillation": {"cleaning": {"drop_echoo": True}}}, "distillation.cleaning.drop_echoo"),
        ({"training": {"save_steps": "fifty"}}, "training.save_steps"),
        ({"teacher": {"max_concurency": 4}}, "teacher.max_concurency"),
        ({"evaluation": {"benchmarks": {"limit": "all"}}}, "evaluation.benchmarks.limit"),
        ({"instruction_generation": {"generation": {"temperature": "hot"}}}, "instruction_generation.generation"),
        ({"size_classes": {"tiny": {"learning_rate": "fast"}}}, "size_classes.tiny.learning_rate"),
    ],
)
@pytest.mark.parametrize("env", ["base", "paper"])
def test_a_typo_or_wrong_type_fails_naming_the_key(conf_copy, env, override, named):
    _override(conf_copy, env, override)
    with pytest.raises(ParameterError, match=f"conf/{env}") as caught:
        validate_parameters(load_parameters(env, conf_source=conf_copy), where=f"conf/{env}")
    assert named in str(caught.value)


def test_every_problem_is_listed_not_only_the_first(conf_copy):
    _override(conf_copy, "paper", {"training": {"save_steps": "x"}, "teacher": {"timeout_s": "y"}})
    with pytest.raises(ParameterError) as caught:
        validate_parameters(load_parameters("paper", conf_source=conf_copy))
    assert "training.save_steps" in str(caught.value) and "teacher.timeout_s" in str(caught.value)
