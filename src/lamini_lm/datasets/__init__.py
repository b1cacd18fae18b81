"""Custom Kedro datasets: student checkpoints and tokenizers."""

from lamini_lm.datasets.checkpoint import CheckpointDataset, CheckpointLoadError, TokenizerDataset

__all__ = ["CheckpointDataset", "CheckpointLoadError", "TokenizerDataset"]
