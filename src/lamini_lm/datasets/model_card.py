"""The model card (README.md) written into every checkpoint, so it can go to the hub as it is."""

from __future__ import annotations

import json
from typing import Any

from lamini_lm.prompting import CAUSAL_WRAPPER

DATA_LICENCE = "cc-by-nc-4.0"


def render_model_card(name: str, family: str, metadata: dict[str, Any]) -> str:
    """Markdown with hub front matter: base model, data and licence, hyper-parameters, loss, prompting."""
    base = metadata.get("base_model") or "unknown"
    data = metadata.get("training_data") or {}
    hparams = metadata.get("hyperparameters") or {}
    pipeline_tag = "text2text-generation" if family == "seq2seq" else "text-generation"
    front = ["---", f"license: {data.get('licence', DATA_LICENCE)}", "language: en", f"pipeline_tag: {pipeline_tag}"]
    if metadata.get("base_model_is_hub_id"):
        front.append(f"base_model: {base}")
    front += ["tags:", "  - lamini-lm", "  - distillation", "  - instruction-tuning", "---", ""]

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
        f"- licence: {data.get('licence', DATA_LICENCE)} (the distilled data is CC BY-NC; so is this model's "
        "use of it — not for commercial use)"
    )
    lines += ["", "## Hyper-parameters", "", "| parameter | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in hparams.items()]
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
    return "\n".join(front + lines)


def _fmt(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, (int, float)) else "n/a"
