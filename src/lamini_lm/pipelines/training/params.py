"""Typed parameters of the training pipeline.

``params:training`` is :class:`TrainingParams`. The herd's blocks (``models``, ``herd``,
``size_classes``) are typed in :mod:`lamini_lm.herd` (:class:`~lamini_lm.herd.Herd`,
:class:`~lamini_lm.herd.ModelSpec`, :class:`~lamini_lm.herd.SizeClasses`), since the evaluation
pipeline reads the herd too. Kedro validates every typed ``params:`` input before any node runs,
so a typo or a wrong type in ``conf/<env>/parameters_training.yml`` fails early, naming the key.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from lamini_lm.herd import Count, Herd, Hyperparameters, ModelSpec, SizeClasses

__all__ = ["Herd", "Hyperparameters", "ModelSpec", "SizeClasses", "TrainingParams"]


class TrainingParams(BaseModel):
    """``training:`` in parameters_training.yml: settings shared by every herd member's run."""

    model_config = ConfigDict(extra="forbid")

    seed: int = Field(strict=True, description="Seeds the split, the initialisation, the batch order and the Trainer.")
    validation_fraction: float = Field(
        gt=0, lt=1, description="Rows held out for validation when lamini_dataset has no `split` column."
    )
    max_train_rows: Count | None = Field(description="Cap on training rows (a seeded sample); null = all rows.")
    max_validation_rows: Count | None = Field(description="Cap on validation rows (a seeded sample); null = all.")
    work_dir: str = Field(description="Trainer checkpoints and launcher jobs; `{model}` becomes the member's name.")
    resume: bool = Field(description="Resume from the work folder's last checkpoint of the same run.")
    keep_checkpoints: bool = Field(description="Keep the work folder's checkpoints after a successful run.")
    save_steps: Count = Field(description="Optimiser steps between Trainer checkpoints.")
    save_total_limit: Count | None = Field(description="Trainer checkpoints kept in the work folder; null = all.")
    logging_steps: Count = Field(description="Optimiser steps between logged training losses.")
    packing: Literal["auto"] | bool = Field(
        description="Seq2seq: pack a batch's pairs into rows with block-diagonal masks. auto = pack where the "
        "estimated compute is lower (collate.choose_packing: wide models, short pairs); causal ignores it."
    )
    loss_on_labels_only: bool = Field(
        description="Decoder-only: apply the LM head and the loss only at positions with a label (the response), "
        "not at the prompt's and the padding's; same loss and gradients, less compute (label_loss.py). Models "
        "outside label_loss.SUPPORTED_MODEL_TYPES keep their own forward."
    )
    batching: Literal["grouped", "max_length"] = Field(
        description="grouped: length-grouped order, each batch padded to its longest example. max_length: random "
        "order, every batch padded to max_length (the naive baseline of benchmarks/training_throughput.py)."
    )
    use_cpu: Literal["auto"] | bool = Field(description="auto = CPU unless CUDA is available.")
    launcher: Literal["none", "torchrun", "accelerate"] = Field(
        description="none trains in the node's process; torchrun / accelerate launch processes (docs/training.md)."
    )
    nproc_per_node: Count = Field(description="Processes per machine under torchrun (or accelerate without config).")
    accelerate_config: str | None = Field(description="An accelerate config file, e.g. conf/base/accelerate/ddp.yaml.")
    launcher_args: list[str] = Field(
        description="Extra launcher flags, e.g. [--nnodes, 2, --rdzv_endpoint, host:29500]."
    )
    tracking: bool = Field(
        description="Log each member's training to an MLflow child run `<model>/training` of the kedro-mlflow "
        "run (hyper-parameters, loss and learning rate per step, validation losses, throughput, loss curve)."
    )

    @field_validator("launcher_args", mode="before")
    @classmethod
    def _as_text(cls, value: Any) -> Any:
        """YAML reads ``[--nnodes, 2]`` as a string and a number: both are command-line words."""
        return [str(arg) for arg in value] if isinstance(value, list) else value

    def work_dir_for(self, name: str) -> str:
        """The work folder of herd member ``name``."""
        return self.work_dir.format(model=name)
