"""The training loop: Hugging Face ``Trainer`` with length-grouped dynamic batches.

``fit`` is called in-process by the training node and, through :mod:`launch`, in every process
that ``torchrun`` or ``accelerate launch`` starts. It evaluates the validation loss before and
after training and resumes from the last checkpoint in the work folder.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from lamini_lm.herd import Hyperparameters
from lamini_lm.pipelines.training import label_loss, tracking
from lamini_lm.pipelines.training.collate import (
    DynamicPaddingCollator,
    LengthGroupedOrder,
    PaddingStats,
    choose_packing,
)
from lamini_lm.pipelines.training.params import TrainingParams
from lamini_lm.pipelines.training.resume import last_complete_checkpoint
from lamini_lm.pipelines.training.tokenize import as_records, tokenizer_fingerprint

logger = logging.getLogger(__name__)

RUN_FILE = "run.json"
CHECKPOINTS = "checkpoints"
# Config entries that training itself changes (Trainer turns the cache off, records the dtype).
VOLATILE_CONFIG_KEYS = {"dtype", "torch_dtype", "use_cache", "transformers_version", "_name_or_path", "architectures"}


@dataclass
class TrainingJob:
    """Everything one training run needs; the same object in-process and in launched processes."""

    name: str
    family: str
    model: Any
    tokenizer: Any
    train: pd.DataFrame
    validation: pd.DataFrame
    hyperparameters: Hyperparameters
    settings: TrainingParams
    work_dir: Path
    callbacks: list[Any] = field(default_factory=list)
    tracking_run_id: str | None = None  # the member's MLflow child run (pipelines/training/tracking.py)
    tracking_uri: str | None = None

    def fingerprint(self) -> str:
        """Identifies the run: resuming is only allowed into checkpoints of the same fingerprint."""
        digest = hashlib.sha256()
        digest.update(json.dumps(self.hyperparameters.model_dump(), sort_keys=True, default=str).encode())
        digest.update(str(self.settings.seed).encode())
        if packing_enabled(self):
            digest.update(b"packed")
        digest.update(tokenizer_fingerprint(self.tokenizer).encode())
        architecture = {k: v for k, v in self.model.config.to_dict().items() if k not in VOLATILE_CONFIG_KEYS}
        digest.update(json.dumps(architecture, sort_keys=True, default=str).encode())
        for frame in (self.train, self.validation):
            digest.update(np.asarray(frame["length"], dtype=np.int64).tobytes())
            for ids in frame["input_ids"]:
                digest.update(np.asarray(ids, dtype=np.int64).tobytes())
        return digest.hexdigest()[:16]


def prepare_work_dir(job: TrainingJob) -> None:
    """Keep the work folder's checkpoints only if they belong to this run (and resuming is on)."""
    work_dir = Path(job.work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    run_file = work_dir / RUN_FILE
    fingerprint = job.fingerprint()
    previous = json.loads(run_file.read_text()).get("fingerprint") if run_file.exists() else None
    checkpoints = work_dir / CHECKPOINTS
    if checkpoints.exists() and (previous != fingerprint or not job.settings.resume):
        logger.info("Model '%s': discarding checkpoints of another run in %s", job.name, checkpoints)
        shutil.rmtree(checkpoints)
    run_file.write_text(json.dumps({"name": job.name, "fingerprint": fingerprint}))


def packing_enabled(job: TrainingJob) -> bool:
    """Seq2seq packing: ``training.packing`` (true, false, or auto = :func:`collate.choose_packing`'s estimate)."""
    return choose_packing(
        job.settings.packing,
        job.family,
        job.settings.batching,
        job.model.config,
        [len(x) for x in job.train["input_ids"]],
        [len(x) for x in job.train["labels"]],
        job.hyperparameters.per_device_batch_size,
        job.hyperparameters.max_length,
    )


def training_order(records: dict[str, list], family: str, batch_size: int, seed: int) -> LengthGroupedOrder:
    """The length-grouped order of the training examples (see :class:`LengthGroupedOrder`)."""
    if family == "causal":
        return LengthGroupedOrder([len(x) for x in records["input_ids"]], batch_size, seed)
    return LengthGroupedOrder(
        [len(x) for x in records["labels"]], batch_size, seed, secondary=[len(x) for x in records["input_ids"]]
    )


def packed_model_inputs(model: Any, batch: dict[str, Any]) -> dict[str, Any]:
    """Model inputs of a packed seq2seq batch (see ``DynamicPaddingCollator``).

    T5 uses its ``attention_mask`` argument for encoder self-attention and cross-attention alike,
    so the encoder runs here with the block-diagonal encoder mask, and the model gets the encoder
    output with the cross-attention mask as ``attention_mask``. 4-D masks reach attention as they
    are (``transformers.masking_utils``); boolean masks become additive ones in the model's dtype.
    """
    import torch

    dtype = next(model.parameters()).dtype
    additive = lambda mask: torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(  # noqa: E731
        ~mask, torch.finfo(dtype).min
    )
    batch = dict(batch)
    encoder_mask, cross_mask = batch.pop("attention_mask"), batch.pop("cross_attention_mask")
    encoder_outputs = model.get_encoder()(input_ids=batch.pop("input_ids"), attention_mask=additive(encoder_mask))
    return {
        **batch,
        "encoder_outputs": encoder_outputs,
        "attention_mask": additive(cross_mask),
        "decoder_attention_mask": additive(batch["decoder_attention_mask"]),
    }


def training_arguments(job: TrainingJob, world_size: int, use_cpu: bool) -> Any:
    """The Trainer's arguments: the member's hyper-parameters and the shared ``training`` settings.

    transformers 5 has no ``warmup_ratio``: ``warmup_steps`` below 1 is the fraction of all
    optimiser steps, which is why ``Hyperparameters.warmup_ratio`` must be below 1.
    """
    from transformers import TrainingArguments

    settings, hp = job.settings, job.hyperparameters
    return TrainingArguments(
        output_dir=str(Path(job.work_dir) / CHECKPOINTS),
        per_device_train_batch_size=hp.per_device_batch_size,
        per_device_eval_batch_size=hp.eval_batch_size or hp.per_device_batch_size,
        gradient_accumulation_steps=hp.gradient_accumulation(world_size),
        learning_rate=hp.learning_rate,
        num_train_epochs=hp.epochs,
        max_steps=hp.max_steps,
        warmup_steps=hp.warmup_ratio,
        weight_decay=hp.weight_decay,
        lr_scheduler_type=hp.lr_scheduler_type,
        adam_beta1=hp.adam_beta1,
        adam_beta2=hp.adam_beta2,
        adam_epsilon=hp.adam_epsilon,
        seed=settings.seed,
        data_seed=settings.seed,
        remove_unused_columns=False,
        eval_strategy="no",
        prediction_loss_only=True,  # no metric reads predictions: keeping every validation logit is waste
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=settings.save_total_limit,
        logging_steps=settings.logging_steps,
        report_to="none",
        use_cpu=use_cpu,
        ddp_backend="gloo" if use_cpu and world_size > 1 else None,
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        disable_tqdm=False,
    )


def progress_callback() -> Any:
    """The Trainer's progress bar without its raw ``{'loss': ...}`` lines.

    The logged values go to MLflow (:mod:`tracking`) and to the metrics' loss curve; the log keeps
    the bar and the node's one line per validation (before and after training).
    """
    from transformers.trainer_callback import ProgressCallback

    class BarOnly(ProgressCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            pass

    return BarOnly()


def fit(job: TrainingJob) -> tuple[Any, dict[str, Any]]:
    """Train ``job.model``; returns the trained model and the run's metrics.

    Rank 0 of a launched run logs into the member's MLflow child run (``job.tracking_run_id``).
    A decoder-only student trains (and is validated) with the LM head and the loss on labelled
    positions only (``training.loss_on_labels_only``, :mod:`label_loss`); the model returned has its
    own forward back.
    """
    labelled = job.family == "causal" and job.settings.loss_on_labels_only
    undo = label_loss.install(job.model) if labelled else (lambda: None)
    try:
        with tracking.attached(job.tracking_run_id, job.tracking_uri, int(os.environ.get("RANK", "0")) == 0):
            return _fit(job)
    finally:
        undo()


def _fit(job: TrainingJob) -> tuple[Any, dict[str, Any]]:
    import datasets
    import torch
    from transformers import Trainer, TrainerCallback, set_seed
    from transformers.trainer_callback import ProgressCallback

    settings, hp = job.settings, job.hyperparameters
    seed = settings.seed
    set_seed(seed)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    use_cpu = (not torch.cuda.is_available()) if settings.use_cpu == "auto" else settings.use_cpu

    records = as_records(job.train)
    train_ds = datasets.Dataset.from_dict(records)
    validation_ds = datasets.Dataset.from_dict(as_records(job.validation))
    # "max_length" pads every batch to max_length in random order: the naive baseline of
    # benchmarks/training_throughput.py, never what training uses by default.
    naive = settings.batching == "max_length"
    collator = DynamicPaddingCollator(
        pad_token_id=job.tokenizer.pad_token_id,
        family=job.family,
        pad_to_length=hp.max_length if naive else None,
        pack_length=hp.max_length,
        decoder_start_token_id=getattr(job.model.config, "decoder_start_token_id", None),
    )
    packing = packing_enabled(job)
    train_stats = PaddingStats()

    class _TrainPadding(TrainerCallback):
        """Counts padding of training batches only (evaluation batches are collated too).

        Packing is on for training batches only: validation losses stay per-example batches,
        comparable with unpacked runs.
        """

        def on_train_begin(self, args, state, control, **kwargs):
            collator.stats.reset()
            collator.pack = packing

        def on_train_end(self, args, state, control, **kwargs):
            collator.pack = False
            train_stats.__dict__.update(collator.stats.__dict__)

    checkpoints = Path(job.work_dir) / CHECKPOINTS
    args = training_arguments(job, world_size, use_cpu)
    order = None if naive else training_order(records, job.family, hp.per_device_batch_size, seed)

    class _GroupedTrainer(Trainer):
        def _get_train_sampler(self, train_dataset=None):
            return order if order is not None else super()._get_train_sampler(train_dataset)

        def compute_loss(self, model, inputs, *args, **kwargs):
            if "cross_attention_mask" in inputs:
                inputs = packed_model_inputs(self.accelerator.unwrap_model(model), inputs)
            return super().compute_loss(model, inputs, *args, **kwargs)

    trainer = _GroupedTrainer(
        model=job.model,
        args=args,
        train_dataset=train_ds,
        eval_dataset=validation_ds,
        data_collator=collator,
        processing_class=job.tokenizer,
        callbacks=[_TrainPadding(), *job.callbacks],
    )
    trainer.remove_callback(ProgressCallback)
    trainer.add_callback(progress_callback())
    if job.tracking_run_id is not None:
        trainer.add_callback(tracking.member_run_callback())
    loss_before = trainer.evaluate(metric_key_prefix="before")["before_loss"]
    logger.info("Model '%s': validation loss before training %.4f", job.name, loss_before)
    last = last_complete_checkpoint(checkpoints)  # a half-written checkpoint is skipped, and named
    if last:
        logger.info("Model '%s': resuming from %s", job.name, last)
    result = trainer.train(resume_from_checkpoint=last)
    loss_after = trainer.evaluate(metric_key_prefix="after")["after_loss"]
    logger.info("Model '%s': validation loss after training %.4f (before %.4f)", job.name, loss_after, loss_before)

    runtime = float(result.metrics.get("train_runtime", 0.0)) or float("nan")
    useful_tokens = train_stats.real_tokens * world_size
    metrics = {
        "model": job.name,
        "family": job.family,
        "validation_loss_before": float(loss_before),
        "validation_loss_after": float(loss_after),
        "train_loss": float(result.training_loss),
        "global_step": int(trainer.state.global_step),
        "resumed_from_step": int(Path(last).name.split("-")[-1]) if last else 0,
        "epochs": hp.epochs,
        "world_size": world_size,
        "per_device_batch_size": hp.per_device_batch_size,
        "gradient_accumulation_steps": args.gradient_accumulation_steps,
        "effective_batch_size": hp.per_device_batch_size * args.gradient_accumulation_steps * world_size,
        "train_rows": len(job.train),
        "validation_rows": len(job.validation),
        "packing": packing,
        "loss_on_labels_only": job.family == "causal"
        and settings.loss_on_labels_only
        and label_loss.supported(job.model),
        "padding_fraction": round(train_stats.padding_fraction, 4),
        "train_tokens": useful_tokens,
        "train_runtime_s": round(runtime, 2),
        "useful_tokens_per_s": round(useful_tokens / runtime, 1),
        "loss_curve": [[e["step"], round(e["loss"], 4)] for e in trainer.state.log_history if "loss" in e],
        "learning_rate_curve": [
            [e["step"], float(e["learning_rate"])] for e in trainer.state.log_history if "learning_rate" in e
        ],
    }
    if not settings.keep_checkpoints and args.process_index == 0:
        shutil.rmtree(checkpoints, ignore_errors=True)
    return trainer.model, metrics
