"""Kedro project settings. https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

from kedro.config import OmegaConfigLoader

from lamini_lm.hooks import ActiveEnvironmentHook
from lamini_lm.teacher.hooks import TeacherHooks

HOOKS = (ActiveEnvironmentHook(), TeacherHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Soft merge: an environment that overrides one nested key keeps its siblings.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}
