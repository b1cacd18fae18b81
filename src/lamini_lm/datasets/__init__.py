"""Custom Kedro datasets: student checkpoints and tokenizers."""

from lamini_lm.datasets.checkpoint import (
    CheckpointDataset,
    CheckpointLoadError,
    PublishedCheckpointDataset,
    TokenizerDataset,
)

__all__ = ["CheckpointDataset", "CheckpointLoadError", "PublishedCheckpointDataset", "TokenizerDataset"]
