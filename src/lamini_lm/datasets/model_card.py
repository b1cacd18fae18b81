"""The model card (README.md) written into every checkpoint, so it can go to the hub as it is.

Built with ``huggingface_hub``'s card classes: :class:`~huggingface_hub.ModelCardData` holds the hub
metadata (licence, language, pipeline tag, base model, tags) and :class:`~huggingface_hub.ModelCard`
validates the front matter and is what ``save``/``push_to_hub`` take.
"""

from __future__ import annotations

import json
from typing import Any

from lamini_lm.datasets.cards import card_from
from lamini_lm.prompting import CAUSAL_WRAPPER
from lamini_lm.reporting import dataframe_markdown

DATA_LICENCE = "cc-by-nc-4.0"
TAGS = ["lamini-lm", "distillation", "instruction-tuning"]


def model_card(name: str, family: str, metadata: dict[str, Any]) -> Any:
    """The student's ``ModelCard``: base model, data and licence, hyper-parameters, loss, prompting, provenance."""
    from huggingface_hub import ModelCard, ModelCardData

    base = metadata.get("base_model") or "unknown"
    data = metadata.get("training_data") or {}
    hparams = metadata.get("hyperparameters") or {}
    licence = data.get("licence", DATA_LICENCE)
    card_data = ModelCardData(
        license=licence,
        language="en",
        pipeline_tag="text2text-generation" if family == "seq2seq" else "text-generation",
        base_model=base if metadata.get("base_model_is_hub_id") else None,
        tags=list(TAGS),
    )

    lines = [f"# {name}", ""]
    lines.append(
        f"A {family} student of the LaMini-LM herd (Wu et al., EACL 2024), fine-tuned on "
        "instruction/response pairs distilled from a larger teacher model."
    )
    lines += ["", "## Base model", "", f"`{base}`", ""]
    lines += ["## Training data", ""]
    lines.append(f"- dataset: `{data.get('dataset', 'lamini_dataset')}`")
    lines.append(f"- training rows: {data.get('train_rows', '?')}, validation rows: {data.get('validation_rows', '?')}")
    if data.get("instruction_sources"):
        sources = ", ".join(f"{k} ({v})" for k, v in data["instruction_sources"].items())
        lines.append(f"- instruction sources: {sources}")
    if data.get("teacher_models"):
        lines.append(f"- responses by: {', '.join(data['teacher_models'])}")
    lines.append(
        f"- licence: {licence} (the distilled data is CC BY-NC; so is this model's use of it — not for commercial use)"
    )
    lines += ["", "## Hyper-parameters", "", dataframe_markdown(["parameter", "value"], hparams.items())]
    lines += ["", "## Validation loss", ""]
    lines.append(f"- before training: {_fmt(metadata.get('validation_loss_before'))}")
    lines.append(f"- after training: {_fmt(metadata.get('validation_loss_after'))}")
    lines += ["", "## How to prompt it", ""]
    if family == "causal":
        lines += ["Wrap the instruction in LaMini-LM's template and let the model continue:", "", "```text"]
        lines += [CAUSAL_WRAPPER, "```"]
    else:
        lines.append("Give the instruction as the encoder input, verbatim.")
    lines += [
        "",
        "```python",
        "from lamini_lm.datasets import CheckpointDataset",
        "student = CheckpointDataset(filepath='<this folder>').load()",
        "print(student.generate(['List three uses of a paperclip.'])[0])",
        "```",
        "",
        "## Provenance",
        "",
        "```json",
        json.dumps({k: v for k, v in metadata.items() if k != "hyperparameters"}, indent=2, default=str),
        "```",
        "",
    ]
    return card_from(card_data, "\n".join(lines), ModelCard)


def render_model_card(name: str, family: str, metadata: dict[str, Any]) -> str:
    """:func:`model_card` as the text of README.md (hub front matter, then the markdown)."""
    return str(model_card(name, family, metadata))


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"
