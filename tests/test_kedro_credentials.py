"""Credentials as the README documents them: copy conf/local/credentials.yml.example to credentials.yml, fill
in the key, run. Kedro loads every ``credentials*`` YAML file of an environment, so the tracked example must
not be one (two files with ``openai:`` stop the run with "Duplicate keys found")."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from kedro.config import MissingConfigException
from kedro.framework.project import pipelines
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project

from lamini_lm import herd
from lamini_lm.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS
from lamini_lm.teacher import credentials

EXAMPLE = Path("conf/local/credentials.yml.example")
FAKE_KEY = "sk-test-documented-steps-0123"


@pytest.fixture
def project_copy(project_root, tmp_path, monkeypatch) -> Path:
    """The project's conf/ (conf/local with only what git tracks), pyproject and raw data in ``tmp_path``."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("KEDRO_ENV", raising=False)
    for name in ("pyproject.toml", ".kedro.yml"):
        shutil.copy(project_root / name, tmp_path / name)
    shutil.copytree(project_root / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    shutil.copy(project_root / EXAMPLE, tmp_path / EXAMPLE)
    (tmp_path / "src").mkdir()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "01_raw").symlink_to(project_root / "data" / "01_raw")
    credentials.register_api_key(None)
    yield tmp_path
    credentials.register_api_key(None)
    herd.ACTIVE_HERD.reset()
    pipelines.configure("lamini_lm.pipeline_registry")


def _credentials(conf: Path, env: str | None) -> dict:
    """What Kedro loads as ``credentials`` for ``env`` ({} when it finds no credentials file)."""
    try:
        return CONFIG_LOADER_CLASS(conf_source=str(conf), env=env, **CONFIG_LOADER_ARGS)["credentials"]
    except MissingConfigException:
        return {}


def _copy_example(project: Path, env: str) -> Path:
    """What the README says: cp conf/local/credentials.yml.example conf/<env>/credentials.yml, then fill in the key."""
    target = project / "conf" / env / "credentials.yml"
    target.write_text((project / EXAMPLE).read_text().replace("sk-...", FAKE_KEY))
    return target


def test_the_example_alone_is_not_loaded(project_copy):
    assert not _credentials(project_copy / "conf", None)


@pytest.mark.slow  # one node through a KedroSession (~15 s here)
def test_copying_the_example_as_documented_runs_with_the_key(project_copy):
    _copy_example(project_copy, "local")
    assert _credentials(project_copy / "conf", None) == {"openai": {"api_key": FAKE_KEY}}
    bootstrap_project(project_copy)
    with KedroSession.create(project_path=project_copy) as session:  # `kedro run --nodes=build_topic_list_node`
        session.run(node_names=["build_topic_list_node"])
    assert credentials.get_api_key() == FAKE_KEY  # TeacherHooks registered it
    assert (project_copy / "data/02_intermediate/instruction_generation/wikipedia_topics.csv").is_file()


def test_a_paper_run_reads_credentials_from_conf_paper(project_copy):
    _copy_example(project_copy, "local")
    assert not _credentials(project_copy / "conf", "paper")  # --env=paper does not read conf/local
    _copy_example(project_copy, "paper")
    assert _credentials(project_copy / "conf", "paper") == {"openai": {"api_key": FAKE_KEY}}


def test_an_example_named_like_credentials_would_stop_the_run(project_copy):
    """Why the example is not called credentials.example.yml: Kedro loads both files."""
    _copy_example(project_copy, "local")
    shutil.copy(project_copy / EXAMPLE, project_copy / "conf/local/credentials.example.yml")
    with pytest.raises(ValueError, match="Duplicate keys found"):
        _credentials(project_copy / "conf", None)
