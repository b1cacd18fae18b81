"""Which Trainer checkpoint a run resumes from: the last *complete* one.

A job killed while the Trainer saves leaves a ``checkpoint-N`` folder half written (the Trainer writes
the weights, then the optimizer, scheduler and RNG states, and ``trainer_state.json`` last, straight
into the folder). ``transformers.trainer_utils.get_last_checkpoint`` picks the highest N whatever its
content, so every re-run would crash loading it. Here a checkpoint is complete when
``trainer_state.json`` parses, its weights are whole (a safetensors file's header and size agree;
every shard of a sharded index is there) and every ``torch.save`` file (``optimizer.pt``,
``scheduler.pt``, ``rng_state*.pth``, ``*.bin``) is a whole zip archive. Incomplete ones are skipped
with a warning naming them and left in place (the Trainer overwrites the folder when it reaches that
step again).
"""

from __future__ import annotations

import json
import logging
import re
import struct
import zipfile
from pathlib import Path

logger = logging.getLogger(__name__)

_CHECKPOINT = re.compile(r"^checkpoint-(\d+)$")
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin", "adapter_model.safetensors")
INDEX_FILES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")


def _safetensors_problem(path: Path) -> str | None:
    """Why a ``.safetensors`` file is not whole (its header promises more bytes than it holds), or None."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            return f"{path.name} is truncated ({size} bytes)"
        (header_len,) = struct.unpack("<Q", head)
        if 8 + header_len > size:
            return f"{path.name} is truncated (header of {header_len} bytes, file of {size})"
        try:
            header = json.loads(handle.read(header_len))
        except ValueError:
            return f"{path.name} has an unreadable header"
    end = max((t["data_offsets"][1] for k, t in header.items() if k != "__metadata__"), default=0)
    if 8 + header_len + end != size:
        return f"{path.name} is truncated ({size} of {8 + header_len + end} bytes)"
    return None


def _torch_file_problem(path: Path) -> str | None:
    """Why a ``torch.save`` file is not whole (not a complete zip archive), or None."""
    return None if zipfile.is_zipfile(path) else f"{path.name} is truncated or not a torch.save archive"


def checkpoint_problem(folder: Path) -> str | None:
    """Why ``folder`` (a ``checkpoint-N``) cannot be resumed from, or None when it is complete."""
    state = folder / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json (the save was interrupted)"
    try:
        json.loads(state.read_text(encoding="utf-8"))
    except ValueError:
        return "trainer_state.json is not valid JSON (the save was interrupted)"
    weights = [folder / name for name in WEIGHT_FILES if (folder / name).is_file()]
    for index in (folder / name for name in INDEX_FILES):
        if index.is_file():
            try:
                shards = sorted(set(json.loads(index.read_text(encoding="utf-8"))["weight_map"].values()))
            except (ValueError, KeyError):
                return f"{index.name} is unreadable"
            missing = [s for s in shards if not (folder / s).is_file()]
            if missing:
                return f"{index.name} names missing shard(s) {missing[:3]}"
            weights += [folder / s for s in shards]
    if not weights:
        return "no model weights"
    for path in weights + sorted(folder.glob("*.pt")) + sorted(folder.glob("*.pth")):
        problem = _safetensors_problem(path) if path.suffix == ".safetensors" else _torch_file_problem(path)
        if problem:
            return problem
    return None


def last_complete_checkpoint(checkpoints: Path) -> str | None:
    """The highest-step complete ``checkpoint-N`` in ``checkpoints`` (None: none, or no folder).

    Each incomplete one passed over is logged with what is wrong with it.
    """
    if not Path(checkpoints).is_dir():
        return None
    found = [
        (int(m.group(1)), p) for p in Path(checkpoints).iterdir() if p.is_dir() and (m := _CHECKPOINT.match(p.name))
    ]
    for _, folder in sorted(found, reverse=True):
        problem = checkpoint_problem(folder)
        if problem is None:
            return str(folder)
        logger.warning("Skipping incomplete checkpoint %s: %s; resuming from an earlier one.", folder, problem)
    return None
