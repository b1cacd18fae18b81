"""The training template, instantiated once per herd member (namespace = the member's name)."""

from __future__ import annotations

import inspect
from typing import get_type_hints

from kedro.pipeline import Node, Pipeline

from lamini_lm.herd import herd_members
from lamini_lm.pipelines.training import nodes

SHARED_INPUTS = {"lamini_dataset"}
SHARED_PARAMETERS = {
    "params:size_classes",
    "params:size_class_variants",
    "params:size_class_variant",
    "params:training",
}


def _bind(func, name: str):
    """``func`` with the member's name bound (for error messages and the Student's name).

    A plain function (not a ``functools.partial``), with the signature and type hints of ``func``
    minus ``name``, so that Kedro's parameter validation and kedro-viz read it like ``func``.
    """
    signature = inspect.signature(func)

    def bound(*args, **kwargs):
        return func(*args, name=name, **kwargs)

    bound.__name__, bound.__qualname__, bound.__doc__ = func.__name__, func.__qualname__, func.__doc__
    bound.__module__ = func.__module__
    bound.__signature__ = signature.replace(parameters=[p for p in signature.parameters.values() if p.name != "name"])
    bound.__annotations__ = {k: v for k, v in get_type_hints(func).items() if k != "name"}
    return bound


def template(name: str) -> Pipeline:
    """The nodes that train one student, before namespacing."""
    return Pipeline(
        [
            Node(
                _bind(nodes.split_dataset, name),
                inputs=["lamini_dataset", "params:training"],
                outputs=["train_examples", "validation_examples"],
                name="split_dataset_node",
            ),
            Node(
                _bind(nodes.build_tokenizer, name),
                inputs=["train_examples", "params:model_spec"],
                outputs="tokenizer",
                name="build_tokenizer_node",
            ),
            Node(
                _bind(nodes.resolve_member_hyperparameters, name),
                inputs=[
                    "params:model_spec",
                    "params:size_classes",
                    "params:size_class_variants",
                    "params:size_class_variant",
                ],
                outputs="hyperparameters",
                name="resolve_hyperparameters_node",
            ),
            Node(
                _bind(nodes.tokenize_dataset, name),
                inputs=["train_examples", "validation_examples", "tokenizer", "params:model_spec", "hyperparameters"],
                outputs=["tokenized_train", "tokenized_validation"],
                name="tokenize_dataset_node",
            ),
            Node(
                _bind(nodes.initialise_student, name),
                inputs=["tokenizer", "params:model_spec", "params:training"],
                outputs="base_student",
                name="initialise_student_node",
            ),
            Node(
                _bind(nodes.train_student, name),
                inputs=[
                    "base_student",
                    "tokenized_train",
                    "tokenized_validation",
                    "train_examples",
                    "params:model_spec",
                    "hyperparameters",
                    "params:training",
                    "params:size_class_variant",
                ],
                outputs=["checkpoint", "training_metrics"],
                name="train_student_node",
            ),
        ]
    )


def create_pipeline(herd: list[str] | None = None, **kwargs) -> Pipeline:
    """One namespaced copy of the template per herd member (``herd`` defaults to the active environment's).

    ``params:model_spec`` becomes ``params:models.<member>``; ``lamini_dataset``, ``params:size_classes``,
    ``params:size_class_variants``, ``params:size_class_variant`` and ``params:training`` are shared. The
    registry adds the distillation pipeline's data chain.
    """
    members = herd_members() if herd is None else herd
    return sum(
        (
            Pipeline(
                template(name),
                namespace=name,
                inputs=SHARED_INPUTS,
                parameters={"params:model_spec": f"params:models.{name}", **{p: p for p in SHARED_PARAMETERS}},
                tags="training",
            )
            for name in members
        ),
        Pipeline([]),
    )
