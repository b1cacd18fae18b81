"""Kedro project settings. https://docs.kedro.org/en/stable/kedro_project_setup/settings.html"""

from kedro.config import OmegaConfigLoader

from lamini_lm.hooks import ActiveEnvironmentHook
from lamini_lm.teacher.hooks import TeacherHooks
from lamini_lm.teacher.local_server_hooks import LocalServerHooks

HOOKS = (ActiveEnvironmentHook(), TeacherHooks(), LocalServerHooks())

CONFIG_LOADER_CLASS = OmegaConfigLoader
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Soft merge: an environment that overrides one nested key keeps its siblings.
    "merge_strategy": {"parameters": "soft", "globals": "soft"},
}
