"""Kedro datasets for model checkpoints and tokenizers (``save_pretrained`` / ``from_pretrained``).

Writes are atomic: everything is written into a temporary sibling folder which is renamed into
place only once complete, so a failed or interrupted save never leaves a half-written checkpoint
where a good one was.
"""

from __future__ import annotations

import json
import logging
from glob import glob
from pathlib import Path, PurePosixPath
from typing import Any

from kedro.io.core import AbstractDataset, AbstractVersionedDataset, DatasetError, Version
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from lamini_lm.datasets.atomic import atomic_directory_write
from lamini_lm.datasets.model_card import render_model_card
from lamini_lm.herd import FAMILIES, auto_model_class
from lamini_lm.student import Student

logger = logging.getLogger(__name__)

STUDENT_FILE = "student.json"


class HubPush(BaseModel):
    """``push_to_hub`` of a :class:`CheckpointDataset`; other keys go to ``HfApi.upload_folder``."""

    model_config = ConfigDict(extra="allow")

    repo_id: str = Field(min_length=1, description="The hub repository every save is uploaded to.")
    private: bool = Field(True, description="Create the repository private (if it does not exist yet).")

    def upload_args(self) -> dict[str, Any]:
        """The keys passed on to ``upload_folder`` (e.g. ``commit_message``, ``path_in_repo``)."""
        return dict(self.model_extra or {})


class CheckpointLoadError(DatasetError):
    """A checkpoint that could not be loaded, passed on (``on_load_error: return``) rather than raised."""


def _check_on_load_error(value: str, owner: str) -> str:
    if value not in ("raise", "return"):
        raise DatasetError(f"{owner}: on_load_error must be 'raise' or 'return', got {value!r}.")
    return value


def _load_or_report(load: Any, on_load_error: str, what: str) -> Any:
    """``load()``, or (``on_load_error: return``) a :class:`CheckpointLoadError` saying why it failed."""
    try:
        return load()
    except Exception as err:
        if on_load_error == "raise":
            raise
        return CheckpointLoadError(f"{what} failed to load: {type(err).__name__}: {err}")


def load_pretrained(name_or_path: str | Path, family: str, load_args: dict[str, Any]) -> tuple[Any, Any]:
    """Model and tokenizer of a ``family`` (``seq2seq`` or ``causal``) checkpoint: hub id or folder."""
    from transformers import AutoTokenizer

    model = auto_model_class(family).from_pretrained(name_or_path, **load_args)
    return model, AutoTokenizer.from_pretrained(name_or_path)


class _DirectoryDataset(AbstractVersionedDataset):
    """A versioned dataset whose data is a local folder."""

    def __init__(self, *, filepath: str, version: Version | None = None, metadata: dict | None = None):
        super().__init__(
            filepath=PurePosixPath(Path(filepath).as_posix()),
            version=version,
            exists_function=lambda p: Path(p).is_dir(),
            glob_function=glob,
        )
        self.metadata = metadata

    def _exists(self) -> bool:
        try:
            path = self._get_load_path()
        except DatasetError:
            return False
        return Path(path).is_dir()

    def _load_dir(self) -> Path:
        path = Path(self._get_load_path())
        if not path.is_dir():
            raise DatasetError(f"{type(self).__name__}: no folder at '{path}' — has the node that writes it run?")
        return path


class CheckpointDataset(_DirectoryDataset):
    """A :class:`~lamini_lm.student.Student` stored as a Hugging Face model folder.

    The folder holds the model and tokenizer (``save_pretrained``), ``student.json`` (name, family,
    metadata) and a model card ``README.md``, so it can be pushed to the hub unchanged.

    Args:
        filepath: folder of the checkpoint.
        version: Kedro versioning (``versioned: true`` in the catalog).
        push_to_hub: optional ``{repo_id: ..., private: true}``; when set, every save is uploaded
            to that hub repository (needs network and a token). Off by default.
        load_args: passed to ``from_pretrained`` (e.g. ``torch_dtype``, ``device_map``).
        save_args: passed to the model's ``save_pretrained`` (e.g. ``max_shard_size``).
        on_load_error: ``raise`` (default) or ``return``: hand a :class:`CheckpointLoadError` to the
            consuming node instead of stopping the run, so the evaluation can report one broken
            member and go on with the rest of the herd.
    """

    def __init__(
        self,
        *,
        filepath: str,
        version: Version | None = None,
        push_to_hub: dict[str, Any] | None = None,
        load_args: dict[str, Any] | None = None,
        save_args: dict[str, Any] | None = None,
        metadata: dict | None = None,
        on_load_error: str = "raise",
    ):
        super().__init__(filepath=filepath, version=version, metadata=metadata)
        self._on_load_error = _check_on_load_error(on_load_error, f"CheckpointDataset '{filepath}'")
        try:
            self._push_to_hub = HubPush.model_validate(push_to_hub) if push_to_hub else None
        except ValidationError as error:
            raise DatasetError(f"CheckpointDataset '{filepath}': invalid push_to_hub: {error}") from error
        self._load_args = dict(load_args or {})
        self._save_args = dict(save_args or {})

    def _describe(self) -> dict[str, Any]:
        push = self._push_to_hub.model_dump() if self._push_to_hub else None
        return {"filepath": str(self._filepath), "version": self._version, "push_to_hub": push}

    def load(self) -> Student | CheckpointLoadError:
        return _load_or_report(self._load_student, self._on_load_error, f"checkpoint '{self._filepath}'")

    def _load_student(self) -> Student:
        path = self._load_dir()
        info_file = path / STUDENT_FILE
        if not info_file.is_file():
            raise DatasetError(f"'{path}' is not a student checkpoint: '{STUDENT_FILE}' is missing.")
        info = json.loads(info_file.read_text())
        model, tokenizer = load_pretrained(path, info["family"], self._load_args)
        return Student(
            name=info["name"], family=info["family"], model=model, tokenizer=tokenizer, metadata=info["metadata"]
        )

    def save(self, data: Student) -> None:
        if not isinstance(data, Student):
            raise DatasetError(f"CheckpointDataset saves a lamini_lm.student.Student, got {type(data).__name__}.")
        path = Path(self._get_save_path())

        def write(tmp: Path) -> None:
            data.model.save_pretrained(tmp, **self._save_args)
            data.tokenizer.save_pretrained(tmp)
            info = {"name": data.name, "family": data.family, "metadata": data.metadata}
            (tmp / STUDENT_FILE).write_text(json.dumps(info, indent=2, default=str))
            (tmp / "README.md").write_text(render_model_card(data.name, data.family, data.metadata))

        atomic_directory_write(path, write)
        logger.info("Saved student '%s' to %s", data.name, path)
        if self._push_to_hub:
            self._upload(path)

    def _upload(self, path: Path) -> None:
        from huggingface_hub import HfApi

        push = self._push_to_hub
        api = HfApi()
        api.create_repo(repo_id=push.repo_id, exist_ok=True, private=push.private)
        api.upload_folder(folder_path=str(path), repo_id=push.repo_id, **push.upload_args())
        logger.info("Pushed %s to the hub as %s", path, push.repo_id)


class TokenizerDataset(_DirectoryDataset):
    """A Hugging Face tokenizer stored with ``save_pretrained`` (atomic, versionable)."""

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "version": self._version}

    def load(self) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self._load_dir())

    def save(self, data: Any) -> None:
        atomic_directory_write(Path(self._get_save_path()), data.save_pretrained)


class PublishedCheckpointDataset(AbstractDataset):
    """A published student — a hub id such as ``MBZUAI/LaMini-Flan-T5-783M`` or a folder — read-only.

    Put it in place of ``<model>.checkpoint`` (conf/local) to evaluate released weights with
    ``kedro run --pipelines=evaluation`` instead of the ones this project trains.

    Args:
        name_or_path: hub id or local folder, as ``from_pretrained`` takes it.
        family: ``seq2seq`` or ``causal``.
        name: the student's name in reports (default: the last part of ``name_or_path``).
        load_args: passed to the model's ``from_pretrained`` (e.g. ``torch_dtype``).
        on_load_error: ``raise`` (default) or ``return``, as for :class:`CheckpointDataset`.
    """

    def __init__(
        self,
        *,
        name_or_path: str,
        family: str,
        name: str | None = None,
        load_args: dict[str, Any] | None = None,
        metadata: dict | None = None,
        on_load_error: str = "raise",
    ):
        owner = f"PublishedCheckpointDataset '{name_or_path}'"
        if family not in FAMILIES:
            raise DatasetError(f"{owner}: family must be one of {FAMILIES}, got {family!r}.")
        self._on_load_error = _check_on_load_error(on_load_error, owner)
        self._name_or_path = name_or_path
        self._family = family
        self._name = name or PurePosixPath(str(name_or_path)).name
        self._load_args = dict(load_args or {})
        self.metadata = metadata

    def _describe(self) -> dict[str, Any]:
        return {"name_or_path": self._name_or_path, "family": self._family, "name": self._name}

    def load(self) -> Student | CheckpointLoadError:
        return _load_or_report(self._load_student, self._on_load_error, f"published checkpoint '{self._name_or_path}'")

    def _load_student(self) -> Student:
        model, tokenizer = load_pretrained(self._name_or_path, self._family, self._load_args)
        return Student(
            name=self._name,
            family=self._family,
            model=model,
            tokenizer=tokenizer,
            metadata={"published_checkpoint": self._name_or_path},
        )

    def save(self, data: Any) -> None:
        raise DatasetError(
            f"PublishedCheckpointDataset '{self._name_or_path}' is read-only: it serves released weights for "
            "evaluation. Run only the evaluation pipeline (kedro run --pipelines=evaluation) while it replaces "
            "a '<model>.checkpoint' entry."
        )
