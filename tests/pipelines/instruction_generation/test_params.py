"""conf/base and conf/paper validate against InstructionGenerationParams; every node gets the typed model."""

import inspect
import typing

import pytest
from conf_params import conf_block
from pydantic import BaseModel

from lamini_lm.pipelines.instruction_generation import create_pipeline
from lamini_lm.pipelines.instruction_generation.params import GENERATED_SOURCES, InstructionGenerationParams


@pytest.mark.parametrize("env", ["base", "paper"])
def test_both_environments_validate(env):
    params = InstructionGenerationParams.model_validate(conf_block("instruction_generation", env=env))
    assert set(params.generation.strategies) == set(GENERATED_SOURCES)


def test_every_params_input_is_a_typed_model():
    """Kedro validates a ``params:`` input only when its annotation is a Pydantic model (not a Union)."""
    for node in create_pipeline().nodes:
        hints = typing.get_type_hints(node.func)
        arguments = list(inspect.signature(node.func).parameters)
        for name, argument in zip(node.inputs, arguments):
            if name.startswith("params:"):
                assert isinstance(hints[argument], type) and issubclass(hints[argument], BaseModel), (node.name, name)


def test_per_source_word_limits_fall_back_to_max_words():
    filters = InstructionGenerationParams.model_validate(conf_block("instruction_generation")).filters
    assert filters.max_words_for("generated_p3") == filters.max_words_by_source["generated_p3"]
    assert filters.max_words_for("self_instruct_with_topic") == filters.max_words
