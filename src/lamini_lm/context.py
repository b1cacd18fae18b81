"""The project's Kedro context: it tells the herd which environment the session runs in."""

from __future__ import annotations

from typing import Any

from kedro.framework.context import KedroContext

from lamini_lm.herd import ACTIVE_HERD


class ProjectContext(KedroContext):
    """A ``KedroContext`` that hands its config loader to :data:`lamini_lm.herd.ACTIVE_HERD`.

    ``register_pipelines()`` is not given the environment, yet the herd (and so the namespaced
    pipelines) differs between ``base`` and ``paper``. Every session builds its context before it
    first reads the pipelines, and kedro-viz builds it without project hooks (unless
    ``--include-hooks``), so the context itself, not a hook, records the environment: ``kedro run
    --env=paper``, ``kedro viz run --env=paper`` and ``KEDRO_ENV=paper kedro viz build`` all
    instantiate the paper's herd.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ACTIVE_HERD.use(self.config_loader, self.project_path)
