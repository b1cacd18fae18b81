"""Benchmark task files for lm-eval: where they are, their specs, and the folder lm-eval reads for one task.

A benchmark is data: a task YAML in the package's ``tasks/`` or in a folder of
``evaluation.benchmarks.task_dirs`` (e.g. ``conf/local/tasks``: a benchmark added in conf, no code) (``doc_to_text``, ``doc_to_choice``, ...; ``metadata``
names its data key, its metric, whether it is one of the paper's 15 tasks, what changes under each
prompt version and, for data without a normaliser in code, ``columns``/``label_map``: how its raw
records become documents) and a catalog entry ``benchmark_raw_<data>``. A task that is not one of the
paper's 15 is an extra column of the report; the paper's 15 stay the average.

Prompt versions (``evaluation.benchmarks.prompt_version``): ``lm_eval_0_4`` is the YAML as written (lm-eval
0.4.13's own task, byte for byte); ``paper_2023`` applies the keys under ``metadata.prompt_versions.paper_2023``
(the April-2023 v0.3 harness the paper ran). The folder lm-eval reads holds the rendered YAML.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from lamini_lm.herd import ACTIVE_HERD
from lamini_lm.pipelines.evaluation.paper_tables import BENCHMARK_ORDER
from lamini_lm.pipelines.evaluation.params import BenchmarkParams

TASKS_DIR = Path(__file__).parent / "tasks"
DOCS_PLACEHOLDER = "__DOCS__"
REQUIRED_TASK_KEYS = ("task", "output_type", "doc_to_text", "doc_to_target", "doc_to_choice", "metadata")
REQUIRED_METADATA = ("data", "metric", "paper_task")
PROMPT_VERSIONS = ("lm_eval_0_4", "paper_2023")
BASE_PROMPT_VERSION = "lm_eval_0_4"

# --------------------------------------------------------------------------- where the task files are


def project_root() -> Path:
    """The active session's project (``KedroSession.create(project_path=...)``), else the Kedro project
    the ``kedro`` command runs in: the first folder from the working directory up that holds a Kedro
    ``pyproject.toml`` (what the Kedro CLI itself looks for), else the working directory."""
    if ACTIVE_HERD.project_path is not None:
        return ACTIVE_HERD.project_path
    from kedro.utils import find_kedro_project

    return Path(find_kedro_project(Path.cwd()) or Path.cwd())


def configured_task_dirs(parameters: dict[str, Any] | None = None) -> list[str]:
    """``evaluation.benchmarks.task_dirs`` of ``parameters``, else of the active environment
    (:data:`lamini_lm.herd.ACTIVE_HERD`: the session's config loader, or conf/ for ``$KEDRO_ENV``).

    ``create_pipeline()`` is given no parameters, yet which task files exist (and so which nodes) is
    configuration: the wiring reads it here, the way the herd is read.
    """
    parameters = ACTIVE_HERD.parameters() if parameters is None else parameters
    return BenchmarkParams.model_validate(parameters["evaluation"]["benchmarks"]).task_dirs


def task_folders(task_dirs: Sequence[str | Path] = (), root: Path | None = None) -> list[Path]:
    """The package's :data:`TASKS_DIR`, then each folder of ``task_dirs`` (relative ones under ``root``,
    default :func:`project_root`); a folder that is not there raises, naming it and the parameter."""
    folders = [Path(TASKS_DIR)]
    for entry in task_dirs:
        folder = Path(entry)
        if not folder.is_absolute():
            folder = (Path(root) if root is not None else project_root()) / folder
        if not folder.is_dir():
            raise ValueError(
                f"evaluation.benchmarks.task_dirs: {entry!r} ({folder}) is not a folder; create it with the task "
                "file(s) in it, or remove it from the list."
            )
        folders.append(folder)
    return folders


def task_files(task_dirs: Sequence[str | Path] = (), root: Path | None = None) -> dict[str, Path]:
    """Every task file (``lamini_*.yaml``) of :func:`task_folders`, by file name, sorted by name.

    The file name is the task's key (``lamini_<key>.yaml``), so one name in two folders is an error naming
    both files: rename one (a new key) or drop its folder from ``evaluation.benchmarks.task_dirs``.
    """
    found: dict[str, Path] = {}
    for folder in task_folders(task_dirs, root):
        for path in sorted(folder.glob("lamini_*.yaml")):
            if path.name in found:
                raise ValueError(
                    f"Task file {path.name} is in two folders: {found[path.name]} and {path}. The file name is the "
                    "task's key: rename one, or remove its folder from evaluation.benchmarks.task_dirs."
                )
            found[path.name] = path
    return dict(sorted(found.items()))


def task_file_path(task_file: str, task_dirs: Sequence[str | Path] = (), root: Path | None = None) -> Path:
    """Where ``task_file`` (a file name, ``lamini_<key>.yaml``) is: the package's folder or a configured one."""
    files = task_files(task_dirs, root)
    if task_file not in files:
        folders = ", ".join(str(f) for f in task_folders(task_dirs, root))
        raise ValueError(f"Task file {task_file} is in none of the task folders ({folders}).")
    return files[task_file]


# --------------------------------------------------------------------------- task specs


class _Function(str):
    """A ``!function utils.name`` reference, kept as text (nothing is imported) and written back as a tag."""


class _TaskLoader(yaml.SafeLoader):
    """Reads task YAMLs without importing their ``!function`` helpers."""


class _TaskDumper(yaml.SafeDumper):
    """Writes ``_Function`` values back as ``!function`` tags."""


_TaskLoader.add_constructor("!function", lambda loader, node: _Function(loader.construct_scalar(node)))
_TaskDumper.add_representer(_Function, lambda dumper, value: dumper.represent_scalar("!function", str(value)))


def _read_config(path: Path) -> dict[str, Any]:
    """The task YAML at ``path``, parsed once per file version (the wiring reads each file ~20 times
    while the pipelines are built: 4 s of a `kedro run` before this cache). A deep copy: callers may edit it."""
    stat = Path(path).stat()
    return copy.deepcopy(_parsed_config(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=256)
def _parsed_config(path: str, mtime_ns: int, size: int) -> dict[str, Any]:
    return yaml.load(Path(path).read_text(), Loader=_TaskLoader) or {}


@dataclass(frozen=True)
class TaskSpec:
    """One benchmark: its key (``arc_challenge``), lm-eval task name, data key, metric, and whether it is one
    of the paper's 15 tasks (``paper_task``; TruthfulQA is an extra and stays out of the paper's average)."""

    key: str
    lm_eval_task: str
    data: str
    metric: str
    paper_name: str
    paper_task: bool
    path: Path


def read_task_spec(path: Path) -> TaskSpec:
    """The spec of one task YAML; a missing field raises naming the file and the field."""
    config = _read_config(path)
    missing = [key for key in REQUIRED_TASK_KEYS if key not in config]
    meta = config.get("metadata") or {}
    missing += [f"metadata.{key}" for key in REQUIRED_METADATA if key not in meta]
    if missing:
        raise ValueError(f"Task file {path}: missing field(s) {', '.join(missing)}.")
    overriding = [v for v in PROMPT_VERSIONS if v != BASE_PROMPT_VERSION]
    unknown = sorted(set(meta.get("prompt_versions") or {}) - set(overriding))
    if unknown:
        raise ValueError(
            f"Task file {path}: metadata.prompt_versions has {unknown}; only {overriding} override the YAML "
            f"({BASE_PROMPT_VERSION} is the YAML as written)."
        )
    if not isinstance(meta["paper_task"], bool):
        raise ValueError(f"Task file {path}: metadata.paper_task must be true or false, not {meta['paper_task']!r}.")
    name = config["task"]
    if meta["paper_task"] and name.removeprefix("lamini_") not in BENCHMARK_ORDER:
        raise ValueError(
            f"Task file {path}: metadata.paper_task is true, but {name!r} is not one of the paper's 15 tasks "
            f"({', '.join(BENCHMARK_ORDER)}), whose average the report shows; set paper_task: false (an extra column)."
        )
    return TaskSpec(
        key=name.removeprefix("lamini_"),
        lm_eval_task=name,
        data=meta["data"],
        metric=meta["metric"],
        paper_name=str(meta.get("paper_name", name)),
        paper_task=meta["paper_task"],
        path=Path(path),
    )


def task_specs(task_dirs: Sequence[str | Path] = ()) -> list[TaskSpec]:
    """All task YAMLs (the package's, then those of ``task_dirs``: :func:`task_files`), sorted by file name
    (adding a task = adding a file)."""
    return [read_task_spec(path) for path in task_files(task_dirs).values()]


def extra_tasks(task_dirs: Sequence[str | Path] = ()) -> list[tuple[str, str]]:
    """``(task key, paper_name)`` of every task file that is not one of the paper's 15 (``paper_task: false``),
    in file order (TruthfulQA MC1/MC2, BoolQ, and any task added as a file)."""
    specs = []
    for path in task_files(task_dirs).values():
        try:
            specs.append(read_task_spec(path))
        except (ValueError, yaml.YAMLError):
            continue  # reported by its own evaluation node
    return [(spec.key, spec.paper_name) for spec in specs if not spec.paper_task]


def document_schema(data_key: str, task_dirs: Sequence[str | Path] = ()) -> dict[str, Any] | None:
    """``metadata.columns`` / ``metadata.label_map`` of the task file(s) reading ``data_key``, or None.

    A task whose data has no normaliser in code declares how its raw records map to its documents:
    ``columns`` (document field → raw column) and optionally ``label_map`` (raw label → document label),
    e.g. BoolQ's ``{"false": 0, "true": 1}`` (normalisers.records_by_schema).
    """
    for path in task_files(task_dirs).values():
        try:
            meta = _read_config(path).get("metadata") or {}
        except yaml.YAMLError:
            continue
        if meta.get("data") == data_key and meta.get("columns"):
            return {"columns": dict(meta["columns"]), "label_map": meta.get("label_map"), "file": path.name}
    return None


# --------------------------------------------------------------------------- materialising a task


def render_task_config(spec: TaskSpec, docs_path: Path, prompt_version: str) -> str:
    """``spec``'s YAML as lm-eval reads it: the documents at ``docs_path``, ``prompt_version``'s keys applied.

    ``metadata.prompt_versions`` is replaced by ``metadata.prompt_version`` (the one rendered), so the folder
    says which prompts it holds and lm-eval sees a plain task config.
    """
    if prompt_version not in PROMPT_VERSIONS:
        raise ValueError(f"Unknown prompt_version {prompt_version!r}; expected one of {list(PROMPT_VERSIONS)}.")
    if DOCS_PLACEHOLDER not in spec.path.read_text():
        raise ValueError(f"Task file {spec.path}: no {DOCS_PLACEHOLDER} placeholder for the documents.")
    config = _read_config(spec.path)
    meta = dict(config["metadata"])
    overrides = copy.deepcopy((meta.pop("prompt_versions", None) or {}).get(prompt_version) or {})
    config.update(overrides)
    config["metadata"] = meta | {"prompt_version": prompt_version}

    def fill(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        return str(docs_path) if value == DOCS_PLACEHOLDER else value

    return yaml.dump(fill(config), Dumper=_TaskDumper, sort_keys=False, allow_unicode=True, width=10**6)


def materialise_task(
    spec: TaskSpec, docs: list[dict[str, Any]], root: Path, limit: int | None, prompt_version: str
) -> Path:
    """An ``--include_path`` for lm-eval holding ``spec``'s rendered YAML (pointing at a JSONL of ``docs``)
    and ``utils.py``.

    The folder is ``root/<task>-<content hash>``: written once (atomically: a temporary sibling renamed
    into place), then reused by every herd member and every later run, so the Hugging Face datasets
    cache of the JSONL stays warm. The node and the ``lm_eval`` command line read exactly these files.
    Only the first ``limit`` documents are written (what ``--limit`` scores).
    """
    utils = (TASKS_DIR / "utils.py").read_text()
    lines = "".join(json.dumps(doc) + "\n" for doc in (docs[:limit] if limit else docs))
    probe = render_task_config(spec, Path(DOCS_PLACEHOLDER), prompt_version)  # validates before hashing
    digest = hashlib.sha256("\0".join((probe, utils, lines)).encode()).hexdigest()[:12]
    directory = Path(root).resolve() / f"{spec.lm_eval_task}-{digest}"
    if directory.exists():
        return directory
    directory.parent.mkdir(parents=True, exist_ok=True)
    tmp = directory.parent / f".{directory.name}.tmp-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        docs_path = directory / f"{spec.lm_eval_task}.jsonl"
        (tmp / docs_path.name).write_text(lines)
        (tmp / spec.path.name).write_text(render_task_config(spec, docs_path, prompt_version))
        (tmp / "utils.py").write_text(utils)
        tmp.rename(directory)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not directory.exists():  # another process may have won the rename
            raise
    return directory


def task_wiring(task_dirs: Sequence[str | Path] = ()) -> list[tuple[str, str, str]]:
    """``(file name, task key, data key)`` per task YAML (the package's and those of ``task_dirs``), read
    leniently for building the pipeline.

    A task file with missing fields still gets its node (data key = task key), and that node
    reports the problem for every model instead of the registry failing for the whole project.
    A missing folder or a file name in two folders is configuration to fix: it raises.
    """
    wiring = []
    for path in task_files(task_dirs).values():
        key = path.stem.removeprefix("lamini_")
        try:
            config = _read_config(path)
            data = (config.get("metadata") or {}).get("data") or key
        except yaml.YAMLError:
            data = key
        wiring.append((path.name, key, str(data)))
    return wiring
