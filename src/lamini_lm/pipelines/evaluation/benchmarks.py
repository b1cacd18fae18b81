"""Benchmark task files for lm-eval: their specs, and the folder lm-eval reads for one task.

A benchmark is data: a task YAML in ``tasks/`` (``doc_to_text``, ``doc_to_choice``, ...; ``metadata``
names its data key and the paper's metric) and a catalog entry ``benchmark_raw_<data>``.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TASKS_DIR = Path(__file__).parent / "tasks"
DOCS_PLACEHOLDER = "__DOCS__"
REQUIRED_TASK_KEYS = ("task", "output_type", "doc_to_text", "doc_to_target", "doc_to_choice", "metadata")


# --------------------------------------------------------------------------- task specs


class _TaskLoader(yaml.SafeLoader):
    """Reads task YAMLs without importing their ``!function`` helpers."""


_TaskLoader.add_constructor("!function", lambda loader, node: f"!function {loader.construct_scalar(node)}")


@dataclass(frozen=True)
class TaskSpec:
    """One benchmark: its key (``arc_challenge``), lm-eval task name, data key, paper metric."""

    key: str
    lm_eval_task: str
    data: str
    metric: str
    paper_name: str
    path: Path


def read_task_spec(path: Path) -> TaskSpec:
    """The spec of one task YAML; a missing field raises naming the file and the field."""
    config = yaml.load(Path(path).read_text(), Loader=_TaskLoader) or {}
    missing = [key for key in REQUIRED_TASK_KEYS if key not in config]
    meta = config.get("metadata") or {}
    missing += [f"metadata.{key}" for key in ("data", "metric") if key not in meta]
    if missing:
        raise ValueError(f"Task file {path}: missing field(s) {', '.join(missing)}.")
    name = config["task"]
    return TaskSpec(
        key=name.removeprefix("lamini_"),
        lm_eval_task=name,
        data=meta["data"],
        metric=meta["metric"],
        paper_name=str(meta.get("paper_name", name)),
        path=Path(path),
    )


def task_specs(tasks_dir: Path = TASKS_DIR) -> list[TaskSpec]:
    """All task YAMLs shipped in ``tasks_dir``, sorted by file name (adding a task = adding a file)."""
    return [read_task_spec(path) for path in sorted(Path(tasks_dir).glob("lamini_*.yaml"))]


# --------------------------------------------------------------------------- materialising a task


def materialise_task(spec: TaskSpec, docs: list[dict[str, Any]], root: Path, limit: int | None) -> Path:
    """An ``--include_path`` for lm-eval holding ``spec``'s YAML (pointing at a JSONL of ``docs``) and ``utils.py``.

    The folder is ``root/<task>-<content hash>``: written once (atomically: a temporary sibling renamed
    into place), then reused by every herd member and every later run, so the Hugging Face datasets
    cache of the JSONL stays warm. The node and the ``lm_eval`` command line read exactly these files.
    Only the first ``limit`` documents are written (what ``--limit`` scores).
    """
    text = spec.path.read_text()
    if DOCS_PLACEHOLDER not in text:
        raise ValueError(f"Task file {spec.path}: no {DOCS_PLACEHOLDER} placeholder for the documents.")
    utils = (TASKS_DIR / "utils.py").read_text()
    lines = "".join(json.dumps(doc) + "\n" for doc in (docs[:limit] if limit else docs))
    digest = hashlib.sha256("\0".join((text, utils, lines)).encode()).hexdigest()[:12]
    directory = Path(root).resolve() / f"{spec.lm_eval_task}-{digest}"
    if directory.exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        docs_path = directory / f"{spec.lm_eval_task}.jsonl"
        (tmp / docs_path.name).write_text(lines)
        (tmp / spec.path.name).write_text(text.replace(DOCS_PLACEHOLDER, json.dumps(str(docs_path))))
        (tmp / "utils.py").write_text(utils)
        tmp.rename(directory)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not directory.exists():  # another process may have won the rename
            raise
    return directory


def task_wiring(tasks_dir: Path = TASKS_DIR) -> list[tuple[str, str, str]]:
    """``(file name, task key, data key)`` per task YAML, read leniently for building the pipeline.

    A task file with missing fields still gets its node (data key = task key), and that node
    reports the problem for every model instead of the registry failing for the whole project.
    """
    wiring = []
    for path in sorted(Path(tasks_dir).glob("lamini_*.yaml")):
        key = path.stem.removeprefix("lamini_")
        try:
            config = yaml.load(path.read_text(), Loader=_TaskLoader) or {}
            data = (config.get("metadata") or {}).get("data") or key
        except yaml.YAMLError:
            data = key
        wiring.append((path.name, key, str(data)))
    return wiring
