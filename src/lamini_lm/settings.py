"""Kedro project settings. https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

from kedro.config import OmegaConfigLoader

from lamini_lm.context import ProjectContext
from lamini_lm.hooks import ProjectMlflowHook, TrainingCheckpointHook
from lamini_lm.pipelines.evaluation.provenance import RUN_PROVENANCE
from lamini_lm.teacher.hooks import TeacherHooks
from lamini_lm.teacher.local_server_hooks import LocalServerHooks

HOOKS = (ProjectMlflowHook(), TrainingCheckpointHook(), RUN_PROVENANCE, TeacherHooks(), LocalServerHooks())

# kedro-mlflow's own hook runs as ProjectMlflowHook (typed parameters logged one key per value).
DISABLE_HOOKS_FOR_PLUGINS = ("kedro_mlflow",)

# Records the session's environment for the herd (kedro-viz runs without project hooks).
CONTEXT_CLASS = ProjectContext

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Soft merge: an environment that overrides one nested key keeps its siblings.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}
