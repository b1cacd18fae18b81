"""Project pipelines."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

from lamini_lm.pipelines.distillation.pipeline import create_data_pipeline


def register_pipelines() -> dict[str, Pipeline]:
    """Register the project's pipelines.

    Each pipeline package's ``create_pipeline()`` reads the herd of the active environment where
    it needs one (training and evaluation are templates instantiated once per herd member).
    ``training`` also gets distillation's data chain (published sources → ``lamini_dataset``, no
    teacher calls), so ``kedro run --pipelines=training`` works on a fresh clone. ``__default__``
    is all of them. Kedro 1.7 hands ``find_pipelines`` only the pipelines a run requests
    (``kedro run --pipelines=distillation``), so ``training`` may be absent here.
    """
    pipelines = find_pipelines(raise_errors=True)
    if "training" in pipelines:
        pipelines["training"] = create_data_pipeline() + pipelines["training"]
    pipelines["__default__"] = sum(pipelines.values(), Pipeline([]))
    return pipelines
