"""The project's parameters, read the way ``kedro run --env=<env>`` reads them.

Each pipeline has one typed model (pydantic) for its block of ``parameters*.yml``; conf/ is the one
place where default values live. :func:`load_parameters` reads an environment through the
project's own config loader (``settings.py``), for tests, notebooks and scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def load_parameters(env: str = "base", conf_source: str | Path | None = None) -> dict[str, Any]:
    """Every parameter of ``conf/<env>`` on top of ``conf/base``, as plain (resolved) values."""
    from lamini_lm.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS

    source = Path(conf_source) if conf_source is not None else PROJECT_ROOT / "conf"
    loader = CONFIG_LOADER_CLASS(conf_source=str(source), env=env, **CONFIG_LOADER_ARGS)
    return loader["parameters"]


def pipeline_models() -> dict[tuple[str, ...], type]:
    """Each pipeline's typed model, keyed by the top-level parameter keys it validates."""
    from lamini_lm.herd import HERD_KEYS, Herd
    from lamini_lm.pipelines.distillation.params import DistillationParams
    from lamini_lm.pipelines.evaluation.params import EvaluationParams
    from lamini_lm.pipelines.instruction_generation.params import InstructionGenerationParams
    from lamini_lm.pipelines.packaged_model.params import PackagedModelParams
    from lamini_lm.pipelines.training.params import TrainingParams
    from lamini_lm.teacher.config import TeacherSettings
    from lamini_lm.teacher.local_server import LocalServerSettings

    return {
        ("teacher",): TeacherSettings,
        ("instruction_generation",): InstructionGenerationParams,
        ("distillation",): DistillationParams,
        (*HERD_KEYS,): Herd,
        ("training",): TrainingParams,
        ("evaluation",): EvaluationParams,
        ("packaged_model",): PackagedModelParams,
        ("local_server",): LocalServerSettings,
    }


# Blocks only some environments have (conf/local_llm): validated where they are set.
OPTIONAL_BLOCKS = frozenset({"packaged_model", "local_server"})


class ParameterError(ValueError):
    """A parameter of some pipeline is missing, unknown or of the wrong type; the message names each key."""


def validate_parameters(parameters: dict[str, Any], where: str = "parameters") -> dict[str, Any]:
    """Validate every pipeline's block of ``parameters`` at once; the typed models by block name.

    A :class:`ParameterError` lists every problem as ``<key path>: <message>`` (``where`` says which
    configuration it came from, e.g. ``conf/paper``).
    """
    from pydantic import ValidationError

    typed: dict[str, Any] = {}
    problems: list[str] = []
    for keys, model in pipeline_models().items():
        single = len(keys) == 1
        if single and keys[0] in OPTIONAL_BLOCKS and keys[0] not in parameters:
            continue
        raw = parameters.get(keys[0]) if single else {k: parameters[k] for k in keys if k in parameters}
        try:
            typed[keys[0] if single else "herd"] = model.model_validate(raw)
        except ValidationError as err:
            prefix = f"{keys[0]}." if single else ""
            problems += [f"{prefix}{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()]
    if problems:
        raise ParameterError(f"{where}: invalid parameters —\n  " + "\n  ".join(problems))
    return typed
