"""The herd: which students exist, what each one is, and the hyper-parameters it trains with.

The herd is data (``parameters_training.yml``): ``models`` describes every model the project
knows (:class:`ModelSpec`), ``herd`` names the ones the environment evaluates — each trained, except a
*reference* (``reference: true``), which is evaluated from its ``checkpoint`` as it is — and
``size_classes`` holds the hyper-parameters a model trains with (:class:`Hyperparameters`, the
model's ``overrides`` on top). ``size_class_variants`` are named alternatives to some size classes
(e.g. the released Flan-T5 model cards' batch size), switched on for the whole herd by the one
parameter ``size_class_variant`` (:class:`SizeClassVariants`). :class:`Herd` validates them
together. :data:`ACTIVE_HERD` says which environment's parameters the namespaced pipelines are
built from.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, RootModel, ValidationError, field_validator, model_validator

Family = Literal["seq2seq", "causal"]
FAMILIES: tuple[str, ...] = get_args(Family)
HERD_KEYS = ("models", "herd", "size_classes", "size_class_variants", "size_class_variant")
# Strict: a count given as 16.0, "16" or true is a typo, not a count.
Count = Annotated[int, Field(strict=True, gt=0)]


def auto_model_class(family: str) -> Any:
    """``AutoModelForSeq2SeqLM`` (seq2seq) or ``AutoModelForCausalLM`` (causal): what loads a ``family`` network."""
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    if family not in FAMILIES:
        raise ValueError(f"Unknown model family {family!r}; expected one of {FAMILIES}.")
    return AutoModelForSeq2SeqLM if family == "seq2seq" else AutoModelForCausalLM


class Hyperparameters(BaseModel):
    """One entry of ``size_classes`` (and a model's resolved hyper-parameters, overrides applied)."""

    model_config = ConfigDict(extra="forbid")

    learning_rate: float = Field(gt=0, description="Peak learning rate (AdamW).")
    effective_batch_size: Count = Field(
        description="Examples per optimiser step over all devices; gradient accumulation makes it up."
    )
    per_device_batch_size: Count = Field(description="Examples per device per forward pass.")
    epochs: float = Field(gt=0, description="Passes over the training rows (fractions allowed).")
    max_length: Count = Field(description="Tokens per example (per side for seq2seq); longer text is truncated.")
    warmup_ratio: float = Field(
        ge=0, lt=1, description="Fraction of all optimiser steps spent warming the learning rate up from 0."
    )
    weight_decay: float = Field(ge=0, description="AdamW weight decay.")
    lr_scheduler_type: str = Field(description="A transformers SchedulerType: linear, cosine, constant, ...")
    max_steps: int = Field(
        strict=True, ge=-1, description="Stop after this many optimiser steps; -1 trains for `epochs` instead."
    )
    eval_batch_size: Count | None = Field(
        description="Examples per device per validation batch; null uses per_device_batch_size."
    )
    adam_beta1: float = Field(ge=0, lt=1, description="AdamW beta1.")
    adam_beta2: float = Field(ge=0, lt=1, description="AdamW beta2.")
    adam_epsilon: float = Field(gt=0, description="AdamW epsilon.")

    @field_validator("max_steps")
    @classmethod
    def _steps(cls, value: int) -> int:
        if value == 0:
            raise ValueError("must be -1 (train for `epochs`) or a positive number of steps")
        return value

    def gradient_accumulation(self, world_size: int) -> int:
        """Micro-batches per optimiser step so that per-device batch × devices × steps ≥ effective batch."""
        per_step = self.per_device_batch_size * max(1, world_size)
        return max(1, math.ceil(self.effective_batch_size / per_step))


def check_overrides(value: dict[str, Any], where: str) -> None:
    """``value`` must hold size-class keys with valid values (keys it leaves out are not checked)."""
    try:
        Hyperparameters.model_validate(value)
    except ValidationError as error:
        wrong = [e for e in error.errors() if e["type"] != "missing"]
        if wrong:
            raise ValueError(
                "; ".join(f"'{where}.{'.'.join(map(str, e['loc']))}': {e['msg']}" for e in wrong)
                + f" (size-class keys: {sorted(Hyperparameters.model_fields)})"
            ) from None


class TokenizerSpec(BaseModel):
    """The byte-level BPE tokenizer trained on the training text for a model built from ``config``."""

    model_config = ConfigDict(extra="forbid")

    vocab_size: Count = Field(description="Vocabulary size, special tokens included.")
    min_frequency: Count = Field(description="Fewest occurrences for a merge to be learnt.")


class ModelSpec(BaseModel):
    """One entry of ``models:`` in parameters_training.yml: which network a herd member is."""

    model_config = ConfigDict(extra="forbid")

    family: Family = Field(
        description="seq2seq (encoder-decoder, AutoModelForSeq2SeqLM) or causal (decoder-only, AutoModelForCausalLM)."
    )
    size_class: str | None = Field(
        None,
        description="The key under size_classes whose hyper-parameters this model trains with (none for a reference).",
    )
    checkpoint: str | None = Field(None, description="Hub id or local folder of pretrained weights (or give config).")
    config: dict[str, Any] | None = Field(
        None, description="An architecture built from config with random weights; needs model_type (e.g. t5, gpt2)."
    )
    tokenizer: TokenizerSpec | None = Field(
        None, description="For config-built models: the byte-level BPE trained on the data (vocab_size, min_frequency)."
    )
    overrides: dict[str, Any] | None = Field(
        None, description="Hyper-parameters replacing the size class's, for this model (keys of a size class)."
    )
    paper_reference: str | None = Field(
        None,
        description="The paper's LaMini row reported beside this member: a `model` of data/01_raw/paper/results_15_tasks.csv.",
    )
    paper_base_reference: str | None = Field(
        None,
        description="The paper's row for this member's base model (e.g. GPT-2-XL), from the same table.",
    )
    benchmark_wrapper: bool | None = Field(
        None,
        description=(
            "Wrap every lm-eval request's context in the instruction wrapper, as the authors' lm-eval fork did for "
            "decoder-only LaMini models. null: the family's rule (causal students, trained in the wrapper: on; "
            "seq2seq: off). Set false for a base model evaluated as a reference."
        ),
    )
    reference: bool = Field(
        False,
        description=(
            "A reference model: evaluated from `checkpoint` as it is, beside the students, never trained (no "
            "training node; the evaluation loads the checkpoint instead of a trained one). Needs `checkpoint`; "
            "takes no size_class, overrides, config or tokenizer."
        ),
    )

    @field_validator("overrides")
    @classmethod
    def _known_overrides(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Each override must be a size-class key with a valid value (missing keys are the size class's)."""
        if value is not None:
            check_overrides(value, "overrides")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> ModelSpec:
        if self.reference:
            given = [key for key in ("size_class", "overrides", "config", "tokenizer") if getattr(self, key)]
            if given or not self.checkpoint:
                raise ValueError(
                    "a reference (reference: true) is evaluated from its 'checkpoint' as it is and never trained: "
                    + (f"remove {given}" if given else "give its 'checkpoint' (hub id or local path)")
                )
            return self
        if self.size_class is None:
            raise ValueError("a trained model needs 'size_class' (a key of size_classes), or set 'reference: true'")
        if bool(self.checkpoint) == bool(self.config):
            raise ValueError("give exactly one of 'checkpoint' (hub id or local path) or 'config' (built from config)")
        if self.config is not None and "model_type" not in self.config:
            raise ValueError("'config' needs a 'model_type' (e.g. t5, gpt2)")
        if self.config is not None and self.tokenizer is None:
            raise ValueError("a model built from 'config' needs 'tokenizer: {vocab_size: ..., min_frequency: ...}'")
        if self.checkpoint and self.tokenizer is not None:
            raise ValueError("'tokenizer' is for models built from 'config'; a checkpoint brings its own")
        return self


class SizeClasses(RootModel[dict[str, Hyperparameters]]):
    """``size_classes``: hyper-parameters by size-class name."""

    root: dict[str, Hyperparameters] = Field(description="Size-class name → its hyper-parameters.")

    def for_model(self, name: str, model_spec: ModelSpec) -> Hyperparameters:
        """Model ``name``'s size class with its ``overrides`` on top; errors name the model and key."""
        size_class = model_spec.size_class
        if model_spec.reference or size_class is None:
            raise ValueError(f"Model '{name}' is a reference (key 'models.{name}.reference'): it is not trained.")
        if size_class not in self.root:
            raise ValueError(
                f"Model '{name}': size class {size_class!r} (key 'models.{name}.size_class') is not defined under "
                f"'size_classes' (have: {sorted(self.root)})."
            )
        if not model_spec.overrides:
            return self.root[size_class]
        try:
            return Hyperparameters.model_validate({**self.root[size_class].model_dump(), **model_spec.overrides})
        except ValidationError as error:
            problems = []
            for e in error.errors():
                key = str(e["loc"][0]) if e["loc"] else ""
                where = f"models.{name}.overrides" if key in model_spec.overrides else f"size_classes.{size_class}"
                problems.append(f"'{where}.{key}': {e['msg']}")
            raise ValueError(f"Model '{name}': " + "; ".join(problems)) from None


class SizeClassVariants(RootModel[dict[str, dict[str, dict[str, Any]]]]):
    """``size_class_variants``: named alternatives, each replacing keys of some size classes.

    ``{flan_t5_card: {seq2seq_small: {effective_batch_size: 512}, ...}}`` — variant name → size
    class → the keys it replaces. ``size_class_variant: flan_t5_card`` switches one on for every
    member whose size class it names; the other size classes stay as they are.
    """

    root: dict[str, dict[str, dict[str, Any]]] = Field(
        description="Variant name → size-class name → the size-class keys the variant replaces."
    )

    @model_validator(mode="after")
    def _known_keys(self) -> SizeClassVariants:
        for variant, classes in self.root.items():
            for size_class, overrides in classes.items():
                check_overrides(overrides, f"size_class_variants.{variant}.{size_class}")
        return self

    def apply(self, size_classes: SizeClasses, variant: str | None) -> SizeClasses:
        """``size_classes`` with variant ``variant``'s keys on top (``None``: unchanged)."""
        if variant is None:
            return size_classes
        if variant not in self.root:
            raise ValueError(
                f"size_class_variant {variant!r} is not defined under 'size_class_variants' "
                f"(have: {sorted(self.root) or 'none'}); null uses the size classes as they are."
            )
        replaced = dict(size_classes.root)
        for size_class, overrides in self.root[variant].items():
            if size_class not in replaced:
                raise ValueError(
                    f"'size_class_variants.{variant}.{size_class}': no size class {size_class!r} under "
                    f"'size_classes' (have: {sorted(replaced)})."
                )
            try:
                replaced[size_class] = Hyperparameters.model_validate(
                    {**replaced[size_class].model_dump(), **overrides}
                )
            except ValidationError as error:
                problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors())
                raise ValueError(f"'size_class_variants.{variant}.{size_class}': {problems}") from None
        return SizeClasses.model_validate(replaced)


def resolve_hyperparameters(
    name: str,
    model_spec: ModelSpec,
    size_classes: SizeClasses,
    variants: SizeClassVariants,
    variant: str | None,
) -> Hyperparameters:
    """Member ``name``'s hyper-parameters: its size class (variant ``variant`` applied), then its overrides."""
    return variants.apply(size_classes, variant).for_model(name, model_spec)


class Herd(BaseModel):
    """``models``, ``herd``, ``size_classes`` and the size-class variants of parameters_training.yml, checked together."""

    model_config = ConfigDict(extra="forbid")

    models: dict[str, ModelSpec] = Field(description="Every model the project knows, by name.")
    herd: list[str] = Field(
        description="The models this environment evaluates (names under models); all but the references are trained."
    )
    size_classes: SizeClasses = Field(description="Hyper-parameters by size class.")
    size_class_variants: SizeClassVariants = Field(
        description="Named alternatives to some size classes' keys (e.g. the Flan-T5 model cards' batch size)."
    )
    size_class_variant: str | None = Field(
        description="The variant every member trains with (a key of size_class_variants); null: the size classes."
    )

    @model_validator(mode="after")
    def _consistent(self) -> Herd:
        duplicates = sorted({name for name in self.herd if self.herd.count(name) > 1})
        if duplicates:
            raise ValueError(f"'herd' lists {duplicates} more than once")
        missing = [name for name in self.herd if name not in self.models]
        if missing:
            raise ValueError(
                f"herd member(s) {missing} (key 'herd') have no entry under 'models' in parameters_training.yml"
            )
        for variant in [None, *self.size_class_variants.root]:
            size_classes = self.size_class_variants.apply(self.size_classes, variant)
            for name, spec in self.models.items():
                if not spec.reference:
                    size_classes.for_model(name, spec)
        self.size_class_variants.apply(self.size_classes, self.size_class_variant)
        return self

    @property
    def trained(self) -> list[str]:
        """The members the training pipeline trains (the herd less its references), in herd order."""
        return [name for name in self.herd if not self.models[name].reference]

    @property
    def references(self) -> list[str]:
        """The members evaluated from their checkpoint as they are (``reference: true``), in herd order."""
        return [name for name in self.herd if self.models[name].reference]

    def hyperparameters(self, name: str) -> Hyperparameters:
        """Member ``name``'s resolved hyper-parameters (the active variant and its overrides applied)."""
        return resolve_hyperparameters(
            name, self.models[name], self.size_classes, self.size_class_variants, self.size_class_variant
        )

    @classmethod
    def from_parameters(cls, parameters: dict[str, Any]) -> Herd:
        """The herd of a whole parameters dict (the keys of ``HERD_KEYS``; the rest ignored)."""
        return cls.model_validate({key: parameters[key] for key in HERD_KEYS if key in parameters})


class HerdSource:
    """Where the herd is read from: the active session's config loader, else conf/ for ``$KEDRO_ENV``.

    ``register_pipelines()`` is not given the environment, yet the herd (and so the namespaced
    pipelines) differs between ``base`` and ``paper``; :class:`lamini_lm.hooks.ActiveEnvironmentHook`
    calls :meth:`use` with the session's config loader before the pipelines are first read.
    """

    def __init__(self) -> None:
        self._config_loader: Any = None
        self.project_path: Path | None = None

    def use(self, config_loader: Any, project_path: Path | None = None) -> None:
        """Read the herd from ``config_loader`` (the active session's) from now on; ``project_path`` is
        the session's project (relative paths in parameters resolve under it)."""
        self._config_loader = config_loader
        self.project_path = Path(project_path) if project_path is not None else None

    def reset(self) -> None:
        """Forget the session's config loader (tests that open sessions call this when done)."""
        self._config_loader = None
        self.project_path = None

    def parameters(self) -> dict[str, Any]:
        """Every parameter of the active environment."""
        if self._config_loader is not None:
            return self._config_loader["parameters"]
        # No session yet (e.g. `kedro registry list`): read conf/ for $KEDRO_ENV the way Kedro would.
        from kedro.framework.project import settings

        loader = settings.CONFIG_LOADER_CLASS(
            conf_source=str(Path.cwd() / settings.CONF_SOURCE),
            env=os.environ.get("KEDRO_ENV"),
            **settings.CONFIG_LOADER_ARGS,
        )
        return loader["parameters"]

    def herd(self) -> Herd:
        """The active environment's herd, validated."""
        return Herd.from_parameters(self.parameters())


ACTIVE_HERD = HerdSource()


def _herd(parameters: dict[str, Any] | None) -> Herd:
    return ACTIVE_HERD.herd() if parameters is None else Herd.from_parameters(parameters)


def herd_members(parameters: dict[str, Any] | None = None) -> list[str]:
    """Names of the herd members, references included (of ``parameters``, else the active environment's)."""
    return list(_herd(parameters).herd)


def trained_members(parameters: dict[str, Any] | None = None) -> list[str]:
    """The herd members that are trained: every member but the references."""
    return _herd(parameters).trained


def reference_members(parameters: dict[str, Any] | None = None) -> list[str]:
    """The herd members evaluated from their checkpoint as they are (``reference: true``), never trained."""
    return _herd(parameters).references
