"""Fixtures of the teacher tests: a replay server on 127.0.0.1 and settings pointing at it."""

from __future__ import annotations

import pytest
from conf_params import conf_block

from lamini_lm.teacher import credentials
from lamini_lm.teacher.config import ReplaySettings
from lamini_lm.teacher.replay import corpus_from_settings, serve


@pytest.fixture(scope="session")
def corpus():
    return corpus_from_settings(ReplaySettings.model_validate(conf_block("teacher.replay")))


@pytest.fixture
def replay(corpus):
    with serve(corpus=corpus) as handle:
        yield handle


@pytest.fixture(autouse=True)
def _no_key(monkeypatch):
    """Each test starts with no registered key and no OPENAI_API_KEY."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    credentials.register_api_key(None)
    yield
    credentials.register_api_key(None)
