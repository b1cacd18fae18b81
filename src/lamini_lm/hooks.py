"""Project hooks: MLflow tracking with comparable parameters, and quiet runs (the teacher's hooks are in
:mod:`lamini_lm.teacher.hooks`). The environment's herd is recorded by :class:`lamini_lm.context.ProjectContext`,
not by a hook: kedro-viz runs without project hooks unless ``--include-hooks`` is given."""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path
from typing import Any

from kedro.framework.hooks import hook_impl

logger = logging.getLogger(__name__)

# Python warnings from libraries that a user of this project cannot act on (they come from the
# libraries' own calls); conf/logging.yml sets the levels of noisy library loggers. Kedro lets a
# logging config name filter classes from `logging` and `kedro.logging` only, so these filters are
# installed here, when Kedro imports the project's settings, before the libraries are loaded.
LIBRARY_WARNINGS = (
    # omegaconf 2.4 deprecates the call that Kedro's config loader and kedro-mlflow make.
    (r"register_new_resolver\(\) is deprecated", UserWarning),
    # mlflow's pyfunc nags about kedro-mlflow's KedroPipelineModel, which this project never logs.
    (r".*Add type hints to the `predict` method", UserWarning),
)


class LibraryWarningsFilter(logging.Filter):
    """Drops the ``py.warnings`` records of :data:`LIBRARY_WARNINGS`.

    Kedro's rich handler routes Python warnings through the ``py.warnings`` logger. mlflow raises its
    warning inside ``catch_warnings()`` + ``simplefilter("once")``, which overrides any
    ``warnings.filterwarnings`` of ours, so the record is dropped here instead.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not any(
            f"{category.__name__}: " in text and re.search(pattern, text) for pattern, category in LIBRARY_WARNINGS
        )


def filter_library_warnings() -> None:
    """Ignore :data:`LIBRARY_WARNINGS` in this process: as Python warnings and as log records."""
    for message, category in LIBRARY_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    py_warnings = logging.getLogger("py.warnings")
    if not any(isinstance(f, LibraryWarningsFilter) for f in py_warnings.filters):
        py_warnings.addFilter(LibraryWarningsFilter())


filter_library_warnings()

from kedro_mlflow.framework.hooks.mlflow_hook import MlflowHook  # noqa: E402  (after the filters)

EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"  # MLflow 3's UI opens such an experiment on its runs table


def plain_parameter(value: Any) -> Any:
    """A typed parameter (pydantic model) as the plain dict kedro-mlflow can flatten; others unchanged."""
    dump = getattr(value, "model_dump", None)
    return dump(mode="json") if callable(dump) else value


class ProjectMlflowHook(MlflowHook):
    """kedro-mlflow's hook, with parameters logged one key per value and the experiment's kind set.

    Nodes take typed parameters (pydantic models); kedro-mlflow flattens only dicts
    (``tracking.params.dict_params.flatten`` in mlflow.yml) and would log each model as one long
    string. Here every ``params:`` input reaches kedro-mlflow as a plain dict, so the parent run
    holds ``training.seed``, ``models.tiny_t5.config.d_model``... and runs compare by key. The
    experiment is tagged ``mlflow.experimentKind: custom_model_development`` on every run (also
    for an experiment created before this tag was in mlflow.yml). A node's parameters are logged
    in one batch, each key once per run.

    Registered in ``settings.HOOKS`` in place of the plugin's own instance
    (``DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)``).
    """

    def __init__(self) -> None:
        super().__init__()
        self._logged_params: dict[str, str] = {}  # this run's node parameters already logged
        self._pending_params: dict[str, Any] | None = None  # the running node's, logged as one batch

    @hook_impl
    def before_pipeline_run(self, run_params: dict[str, Any], pipeline: Any, catalog: Any) -> None:
        self._logged_params = {}
        super().before_pipeline_run(run_params, pipeline, catalog)
        if self._is_mlflow_enabled:
            import mlflow

            experiment_id = mlflow.active_run().info.experiment_id
            mlflow.MlflowClient().set_experiment_tag(experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)

    @hook_impl
    def before_node_run(self, node: Any, catalog: Any, inputs: dict[str, Any], is_async: bool) -> None:
        plain = {k: plain_parameter(v) if k.startswith("params:") else v for k, v in inputs.items()}
        self._pending_params = {}
        try:
            super().before_node_run(node, catalog, plain, is_async)
        finally:
            pending, self._pending_params = self._pending_params, None
        if pending:
            import mlflow

            mlflow.log_params(pending)  # one batch per node, not one store round trip per key
            self._logged_params.update({key: str(value) for key, value in pending.items()})

    def _log_param(self, name: str, value: Any) -> None:
        """Collects a node's parameters for one batch; a key already logged with this value is skipped.

        kedro-mlflow logs each key of each node's ``params:`` inputs with its own call (a store round
        trip, a SQLite commit): 40 keys cost ~1.5 s per node. Over-long values keep kedro-mlflow's
        ``long_params_strategy`` (they go through its own ``_log_param``).
        """
        from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

        pending = self._pending_params
        if pending is None or len(str(value)) > MAX_PARAM_VAL_LENGTH:
            return super()._log_param(name, value)
        if self._logged_params.get(name) != str(value):
            pending[name] = value
        return None


class TrainingCheckpointHook:
    """Adds a saved checkpoint to its training run: its path as a tag, its small files as artefacts.

    The training node's MLflow child run (``<model>/training``, pipelines/training/tracking.py) has
    ended by the time the catalog saves the checkpoint; its id travels in the student's metadata
    (``mlflow_run_id``). The weights stay where the catalog put them (tag ``lamini.checkpoint``);
    ``student.json``, ``config.json`` and the model card are copied under ``checkpoint/``.
    """

    SMALL_FILES = ("student.json", "config.json", "README.md")

    def __init__(self) -> None:
        self._catalog = None

    @hook_impl
    def after_catalog_created(self, catalog: Any) -> None:
        self._catalog = catalog

    @hook_impl
    def after_dataset_saved(self, dataset_name: str, data: Any, node: Any) -> None:
        from lamini_lm.student import Student

        if not isinstance(data, Student) or self._catalog is None:
            return
        run_id = data.metadata.get("mlflow_run_id")
        if not run_id:
            return
        folder = checkpoint_folder(self._catalog.get(dataset_name))
        if folder is None:
            return
        from mlflow.tracking import MlflowClient

        client = MlflowClient()
        client.set_tag(run_id, "lamini.checkpoint", str(folder.resolve()))
        for name in self.SMALL_FILES:
            if (folder / name).is_file():
                client.log_artifact(run_id, str(folder / name), artifact_path="checkpoint")
        logger.info("MLflow: checkpoint %s recorded in training run %s", folder, run_id)


def checkpoint_folder(dataset: Any) -> Path | None:
    """The folder a checkpoint dataset last saved to (its version's folder when versioned)."""
    load_path = getattr(dataset, "_get_load_path", None)
    if load_path is None:
        return None
    folder = Path(load_path())
    return folder if folder.is_dir() else None
