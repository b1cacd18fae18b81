"""Custom Kedro datasets: student checkpoints and tokenizers."""

from lamini_lm.datasets.checkpoint import CheckpointDataset, TokenizerDataset

__all__ = ["CheckpointDataset", "TokenizerDataset"]
