"""The project's parameters, read the way ``kedro run --env=<env>`` reads them.

Each pipeline has one typed model (pydantic) for its block of ``parameters*.yml``; conf/ is the one
place where default values live. :func:`load_parameters` reads an environment through the
project's own config loader (``settings.py``), for tests, notebooks and scripts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def load_parameters(env: str = "base", conf_source: str | Path | None = None) -> dict[str, Any]:
    """Every parameter of ``conf/<env>`` on top of ``conf/base``, as plain (resolved) values."""
    from lamini_lm.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS

    source = Path(conf_source) if conf_source is not None else PROJECT_ROOT / "conf"
    loader = CONFIG_LOADER_CLASS(conf_source=str(source), env=env, **CONFIG_LOADER_ARGS)
    return loader["parameters"]
