"""Where the tests' MLflow runs go: a store under pytest's tmp folder, never the project's ``mlflow.db``.

kedro-mlflow takes the tracking URI from ``mlflow.yml`` (``server.mlflow_tracking_uri``) and reads
``MLFLOW_TRACKING_URI`` only when that key is null (``KedroMlflowConfig.setup``), so the project's
``sqlite:///mlflow.db`` wins over the environment variable; and a ``sqlite:///`` path is relative to the
*working directory* (kedro-mlflow makes only plain paths project-relative): a session on a throwaway
project copy, opened from the repository, still wrote into the repository's ``mlflow.db``. tests/conftest.py
therefore redirects kedro-mlflow's setup (:func:`redirected`) and sets ``MLFLOW_TRACKING_URI`` for
plain ``mlflow`` calls; :func:`footprint` is how the session checks that nothing reached the repository.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

# What an MLflow run writes into a project folder: the sqlite store, the file store / artifact root
# (mlflow's default for a sqlite store: ./mlruns), and mlflow server's artifact folder.
STORE_NAMES = ("mlflow.db", "mlruns", "mlartifacts")


@dataclass(frozen=True)
class MlflowStore:
    """The test session's store: ``uri`` (sqlite) and the ``artifacts`` root of the experiments it creates."""

    folder: Path
    basetemp: Path

    @property
    def uri(self) -> str:
        return f"sqlite:///{self.folder / 'mlflow.db'}"

    @property
    def artifacts(self) -> Path:
        return self.folder / "artifacts"


def local_path(uri: str | None, project_path: Path) -> Path | None:
    """The folder or file a tracking URI writes to, resolved as kedro-mlflow and mlflow resolve it (None:
    not a local store, e.g. ``http://...``)."""
    if uri is None:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "sqlite":
        path = Path(uri.removeprefix("sqlite:///"))  # sqlite:////abs is absolute, sqlite:///rel is cwd-relative
        return path.resolve()
    if parsed.scheme == "file":
        return Path(parsed.path).resolve()
    if parsed.scheme == "" and uri:
        return (Path(project_path) / uri).resolve()
    return None


def redirected(uri: str | None, project_path: Path, store: MlflowStore) -> str:
    """``uri`` if it is a local store under pytest's tmp folder (a test chose it), else the session's store."""
    path = local_path(uri, project_path)
    if path is not None and path.is_relative_to(store.basetemp.resolve()):
        return uri  # type: ignore[return-value]
    return store.uri


def footprint(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file of an MLflow store in ``folder``: relative path → (size, mtime in ns)."""
    found = {}
    for name in STORE_NAMES:
        top = folder / name
        for path in [top, *top.rglob("*")] if top.is_dir() else [top]:
            if path.is_file():
                stat = path.stat()
                found[str(path.relative_to(folder))] = (stat.st_size, stat.st_mtime_ns)
    return found


def changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> list[str]:
    """The files of :func:`footprint` that appeared, changed or vanished."""
    return sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
