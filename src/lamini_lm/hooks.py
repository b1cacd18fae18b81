"""Project hooks."""

from kedro.framework.hooks import hook_impl

from lamini_lm import herd


class ActiveEnvironmentHook:
    """Tell the pipeline registry which configuration environment the session runs in.

    ``register_pipelines()`` is not given the environment, yet the herd (and so the namespaced
    pipelines) differs between ``base`` and ``paper``. The context is created before the
    pipelines are first read, so recording its config loader here makes ``kedro run --env=paper``
    and ``kedro viz run --env=paper`` instantiate the paper's herd.
    """

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        herd.use_config_loader(context.config_loader)
