"""``huggingface_hub`` cards from their metadata and markdown, front matter in the hub's usual order."""

from __future__ import annotations

from typing import Any

# The front matter's leading keys, in the order the hub's own cards use (licence first); the card
# data's other keys follow in its own order.
FRONT_MATTER_ORDER = ["license", "language", "pipeline_tag", "library_name", "base_model", "tags"]


def card_from(data: Any, body: str, card_class: Any) -> Any:
    """A ``card_class`` card (``ModelCard`` or ``DatasetCard``) with ``data`` (its ``ModelCardData`` /
    ``DatasetCardData``) as front matter above the markdown ``body``."""
    front = data.to_yaml(original_order=[k for k in FRONT_MATTER_ORDER if getattr(data, k, None) is not None])
    return card_class(f"---\n{front}\n---\n\n{body}")
