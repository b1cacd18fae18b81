"""Project hooks."""

from kedro.framework.hooks import hook_impl

from lamini_lm.herd import ACTIVE_HERD


class ActiveEnvironmentHook:
    """Tell the pipeline registry which configuration environment the session runs in.

    ``register_pipelines()`` is not given the environment, yet the herd (and so the namespaced
    pipelines) differs between ``base`` and ``paper``. The context is created before the
    pipelines are first read, so handing its config loader to :data:`lamini_lm.herd.ACTIVE_HERD`
    here makes ``kedro run --env=paper`` and ``kedro viz run --env=paper`` instantiate the paper's herd.
    """

    @hook_impl(tryfirst=True)
    def after_context_created(self, context) -> None:
        ACTIVE_HERD.use(context.config_loader)
