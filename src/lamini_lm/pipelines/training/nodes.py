"""Nodes of the training template (instantiated once per herd member; ``name`` is the member).

Every error names the model and the parameter key or dataset it comes from.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lamini_lm.herd import (
    Hyperparameters,
    ModelSpec,
    SizeClasses,
    SizeClassVariants,
    auto_model_class,
    resolve_hyperparameters,
)
from lamini_lm.pipelines.training import launch, tracking
from lamini_lm.pipelines.training.curves import loss_curve_figure
from lamini_lm.pipelines.training.params import TrainingParams
from lamini_lm.pipelines.training.tiny import build_tiny_model, train_bpe_tokenizer
from lamini_lm.pipelines.training.tokenize import RESPONSE_SEPARATOR, tokenize_frame, tokenizer_fingerprint
from lamini_lm.pipelines.training.trainer import TrainingJob
from lamini_lm.prompting import format_prompt
from lamini_lm.student import Student

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("instruction", "response", "instruction_source")
TOKENIZED_COLUMNS = ("input_ids", "labels", "length", "tokenizer_fingerprint", "max_length")
SPLITS = ("train", "validation")
# Evaluation data must never be trained on (see data/01_raw/SOURCES.md).
EVALUATION_SOURCES = ("user_oriented", "human_eval", "alpaca_eval")
DATA_LICENCE = "cc-by-nc-4.0"


def split_dataset(
    lamini_dataset: pd.DataFrame, training: TrainingParams, *, name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train and validation rows of ``lamini_dataset``.

    Uses its ``split`` column when present; otherwise holds out a seeded
    ``training.validation_fraction``. ``training.max_train_rows`` / ``max_validation_rows`` cap
    each side (a seeded sample) for quick runs.
    """
    where = f"Model '{name}': dataset 'lamini_dataset'"
    missing = [c for c in REQUIRED_COLUMNS if c not in lamini_dataset.columns]
    if missing:
        raise ValueError(f"{where} is missing column(s) {missing} (has {list(lamini_dataset.columns)}).")
    if lamini_dataset.empty:
        raise ValueError(f"{where} is empty: there is nothing to train on. Run the distillation pipeline first.")
    for column in ("instruction", "response"):
        blank = lamini_dataset[column].isna() | (lamini_dataset[column].astype(str).str.strip() == "")
        if blank.any():
            first = lamini_dataset.index[blank.to_numpy()][0]
            raise ValueError(f"{where}: {int(blank.sum())} row(s) have an empty '{column}' (first: row {first}).")
    sources = lamini_dataset["instruction_source"].astype(str)
    leaked = sources[sources.str.contains("|".join(EVALUATION_SOURCES))]
    if not leaked.empty:
        raise ValueError(
            f"{where}: row {leaked.index[0]} comes from evaluation data ({leaked.iloc[0]!r}); never train on it."
        )

    seed = training.seed
    frame = lamini_dataset.reset_index(drop=True)
    if "split" in frame.columns:
        unknown = sorted(set(frame["split"].astype(str)) - set(SPLITS))
        if unknown:
            raise ValueError(f"{where}: column 'split' has value(s) {unknown}; expected {list(SPLITS)}.")
        train, validation = frame[frame["split"] == "train"], frame[frame["split"] == "validation"]
    else:
        order = np.random.default_rng(seed).permutation(len(frame))
        n_validation = max(1, int(round(training.validation_fraction * len(frame))))
        validation, train = frame.iloc[order[:n_validation]], frame.iloc[order[n_validation:]]
    train = _cap(train, training.max_train_rows, seed)
    validation = _cap(validation, training.max_validation_rows, seed)
    if train.empty or validation.empty:
        raise ValueError(
            f"{where}: the split leaves {len(train)} training and {len(validation)} validation rows; "
            "both must be non-empty."
        )
    logger.info("Model '%s': %d training rows, %d validation rows", name, len(train), len(validation))
    return train.reset_index(drop=True), validation.reset_index(drop=True)


def _cap(frame: pd.DataFrame, limit: int | None, seed: int) -> pd.DataFrame:
    if limit is None or len(frame) <= limit:
        return frame
    return frame.sample(n=limit, random_state=seed).sort_index()


def build_tokenizer(train: pd.DataFrame, model_spec: ModelSpec, *, name: str) -> Any:
    """The checkpoint's tokenizer, or a byte-level BPE tokenizer trained on the training text.

    A tokenizer without a pad token (GPT-2 family) pads with its EOS token.
    """
    if model_spec.checkpoint:
        from transformers import AutoTokenizer

        tokenizer = _from_checkpoint(name, model_spec.checkpoint, AutoTokenizer.from_pretrained)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        return tokenizer
    family = model_spec.family
    texts = [format_prompt(i, family) + RESPONSE_SEPARATOR + r for i, r in zip(train["instruction"], train["response"])]
    tokenizer = train_bpe_tokenizer(
        texts,
        vocab_size=model_spec.tokenizer.vocab_size,
        family=family,
        min_frequency=model_spec.tokenizer.min_frequency,
    )
    logger.info("Model '%s': trained a %d-token BPE tokenizer on %d rows", name, len(tokenizer), len(texts))
    return tokenizer


def resolve_member_hyperparameters(
    model_spec: ModelSpec,
    size_classes: SizeClasses,
    size_class_variants: SizeClassVariants,
    size_class_variant: str | None,
    *,
    name: str,
) -> Hyperparameters:
    """The member's hyper-parameters: its size class, the active ``size_class_variant``, its overrides."""
    hyperparameters = resolve_hyperparameters(name, model_spec, size_classes, size_class_variants, size_class_variant)
    logger.info(
        "Model '%s': size class %s%s: %s",
        name,
        model_spec.size_class,
        f" (variant {size_class_variant})" if size_class_variant else "",
        hyperparameters.model_dump(),
    )
    return hyperparameters


def tokenize_dataset(
    train: pd.DataFrame,
    validation: pd.DataFrame,
    tokenizer: Any,
    model_spec: ModelSpec,
    hyperparameters: Hyperparameters,
    *,
    name: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Token ids and labels of both splits, truncated to the member's ``max_length``.

    The tables carry the tokenizer's fingerprint and the max length; the training node refuses
    stored tables made with another tokenizer or length.
    """
    max_length = hyperparameters.max_length
    tables, dropped = [], {}
    for split, frame in (("train", train), ("validation", validation)):
        table, dropped[split] = tokenize_frame(frame, tokenizer, model_spec.family, max_length)
        if table.empty:
            raise ValueError(
                f"Model '{name}': no {split} row fits max_length {max_length} (key 'size_classes.*.max_length')."
            )
        tables.append(table)
    if any(dropped.values()):
        logger.warning(
            "Model '%s': dropped %d training and %d validation row(s) whose prompt fills max_length %d; raise "
            "'size_classes.%s.max_length' (or 'models.%s.overrides.max_length') to keep them.",
            name,
            dropped["train"],
            dropped["validation"],
            max_length,
            model_spec.size_class,
            name,
        )
    tables[1] = tables[1].sort_values("length", kind="stable").reset_index(drop=True)
    return tables[0], tables[1]


def initialise_student(tokenizer: Any, model_spec: ModelSpec, training: TrainingParams, *, name: str) -> Student:
    """The untrained student: the base checkpoint, or a seeded random model built from ``config``."""
    from transformers import set_seed

    family = model_spec.family
    set_seed(training.seed)
    if model_spec.config:
        network = build_tiny_model(family, dict(model_spec.config), tokenizer)
        base = f"{model_spec.config['model_type']} built from config (random initialisation)"
    else:
        network = _from_checkpoint(name, model_spec.checkpoint, auto_model_class(family).from_pretrained)
        if len(tokenizer) > network.get_input_embeddings().num_embeddings:
            network.resize_token_embeddings(len(tokenizer))
        if network.config.pad_token_id is None:
            network.config.pad_token_id = tokenizer.pad_token_id
            network.generation_config.pad_token_id = tokenizer.pad_token_id
        base = model_spec.checkpoint
    metadata = {
        "base_model": base,
        "base_model_is_hub_id": bool(model_spec.checkpoint) and not is_local_path(model_spec.checkpoint),
        "family": family,
        "size_class": model_spec.size_class,
    }
    logger.info("Model '%s': %s, %.1fM parameters", name, base, sum(p.numel() for p in network.parameters()) / 1e6)
    return Student(name=name, family=family, model=network, tokenizer=tokenizer, metadata=metadata)


def train_student(
    student: Student,
    tokenized_train: pd.DataFrame,
    tokenized_validation: pd.DataFrame,
    train: pd.DataFrame,
    model_spec: ModelSpec,
    hyperparameters: Hyperparameters,
    training: TrainingParams,
    size_class_variant: str | None,
    *,
    name: str,
) -> tuple[Student, dict[str, Any], Any]:
    """Fine-tune the student (in-process or through ``training.launcher``).

    Returns the trained student, its metrics and its loss-curve figure. With ``training.tracking``
    and an active MLflow run (kedro-mlflow's), the training is logged to a child run
    ``<model>/training`` (:mod:`lamini_lm.pipelines.training.tracking`).
    """
    _check_tokenized(name, student.tokenizer, hyperparameters.max_length, tokenized_train, tokenized_validation)
    _check_positions(name, student.model, hyperparameters.max_length)
    with tracking.member_run(name, training.tracking) as run:
        run_id = run.info.run_id if run is not None else None
        if run is not None:
            tracking.log_params(
                tracking.member_params(
                    name,
                    student.family,
                    str(student.metadata["base_model"]),
                    {
                        **hyperparameters.model_dump(mode="json"),
                        "size_class": model_spec.size_class,
                        "size_class_variant": size_class_variant,
                    },
                    training.model_dump(mode="json"),
                    model_spec.config,
                    {"train_rows": len(tokenized_train), "validation_rows": len(tokenized_validation)},
                )
            )
        job = TrainingJob(
            name=name,
            family=student.family,
            model=student.model,
            tokenizer=student.tokenizer,
            train=tokenized_train,
            validation=tokenized_validation,
            hyperparameters=hyperparameters,
            settings=training,
            work_dir=Path(training.work_dir_for(name)),
            tracking_run_id=run_id,
            tracking_uri=_tracking_uri() if run is not None else None,
        )
        network, metrics = launch.train(job)
        metrics = {**metrics, "mlflow_run_id": run_id}
        figure = loss_curve_figure(metrics)
        if run is not None:
            tracking.log_summary(metrics, figure, name)
    metadata = {
        **student.metadata,
        "hyperparameters": {
            **hyperparameters.model_dump(),
            "size_class": model_spec.size_class,
            "size_class_variant": size_class_variant,
        },
        "seed": training.seed,
        "training_data": {
            "dataset": "lamini_dataset",
            "train_rows": int(len(tokenized_train)),
            "validation_rows": int(len(tokenized_validation)),
            "instruction_sources": {str(k): int(v) for k, v in train["instruction_source"].value_counts().items()},
            "teacher_models": _teacher_models(train),
            "licence": DATA_LICENCE,
        },
        "tokenizer_fingerprint": tokenizer_fingerprint(student.tokenizer),
        "validation_loss_before": metrics["validation_loss_before"],
        "validation_loss_after": metrics["validation_loss_after"],
        "trained_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mlflow_run_id": run_id,
    }
    metrics = {
        **metrics,
        "size_class": model_spec.size_class,
        "size_class_variant": size_class_variant,
        "base_model": student.metadata["base_model"],
    }
    trained = Student(name=name, family=student.family, model=network, tokenizer=student.tokenizer, metadata=metadata)
    return trained, metrics, figure


def _tracking_uri() -> str:
    import mlflow

    return mlflow.get_tracking_uri()


def is_local_path(checkpoint: str) -> bool:
    """A checkpoint is a local path if it looks like one (``./``, ``/``, ``~``, ``data/``) or exists."""
    return checkpoint.startswith(("/", "./", "../", "~", "data/")) or Path(checkpoint).exists()


def _teacher_models(train: pd.DataFrame) -> list[str]:
    if "teacher_model" not in train:
        return []
    return sorted(map(str, train["teacher_model"].dropna().unique()))


def _from_checkpoint(name: str, checkpoint: str, loader):
    """``loader(checkpoint)``; a local path that does not exist or an unloadable hub id names the model and key."""
    if is_local_path(checkpoint) and not Path(checkpoint).exists():
        raise FileNotFoundError(
            f"Model '{name}': checkpoint path '{checkpoint}' (key 'models.{name}.checkpoint') does not exist. "
            "Give an existing folder or a hub id such as 'google/flan-t5-small'."
        )
    try:
        return loader(checkpoint)
    except OSError as error:
        raise OSError(
            f"Model '{name}': cannot load checkpoint '{checkpoint}' (key 'models.{name}.checkpoint'): {error}"
        ) from error


def _check_tokenized(name: str, tokenizer: Any, max_length: int, *tables: pd.DataFrame) -> None:
    expected = tokenizer_fingerprint(tokenizer)
    for table, dataset in zip(tables, ("tokenized_train", "tokenized_validation")):
        missing = [c for c in TOKENIZED_COLUMNS if c not in table]
        if missing:
            raise ValueError(f"Model '{name}': dataset '{name}.{dataset}' lacks column(s) {missing}.")
        if table.empty:
            raise ValueError(f"Model '{name}': dataset '{name}.{dataset}' is empty.")
        found, length = str(table["tokenizer_fingerprint"].iloc[0]), int(table["max_length"].iloc[0])
        if found != expected or length != max_length:
            raise ValueError(
                f"Model '{name}': dataset '{name}.{dataset}' was tokenised with tokenizer {found} and max_length "
                f"{length}, but training uses tokenizer {expected} and max_length {max_length}. Delete it (or run "
                "without --only-missing-outputs) so that it is tokenised again."
            )


def _check_positions(name: str, network: Any, max_length: int) -> None:
    config = network.config
    limit = getattr(config, "n_positions", None) or getattr(config, "max_position_embeddings", None)
    if limit is not None and max_length > limit:
        raise ValueError(
            f"Model '{name}': max_length {max_length} exceeds the model's {limit} positions "
            f"(lower 'size_classes.*.max_length' or set 'models.{name}.overrides.max_length')."
        )
