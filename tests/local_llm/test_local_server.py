"""The local model server's lifetime (start, ready, stop, port fallback, errors) and the hook that hands it to
a run's teacher nodes — on a stand-in for ``transformers serve`` (fake_serve.py), so these tests take seconds.
The real server is tested in test_real_model.py (slow)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
from conf_params import conf_block
from kedro.framework.hooks import _create_hook_manager
from kedro.io import AbstractDataset, DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner

from lamini_lm.teacher import TeacherSettings, complete
from lamini_lm.teacher import local_server as local_server_module
from lamini_lm.teacher.local_server import (
    LocalServerError,
    LocalServerSettings,
    choose_port,
    local_server,
    serve_command,
    start_local_server,
)
from lamini_lm.teacher.local_server_hooks import LocalServerHooks

FAKE = Path(__file__).with_name("fake_serve.py")
NAME = conf_block("teacher", env="local_llm")["model"]  # the served name: local:SmolLM2-135M-Instruct


def _settings(**overrides) -> LocalServerSettings:
    values = {"start_timeout_s": 20, "stop_timeout_s": 5, "port": 0, **overrides}
    return LocalServerSettings.model_validate(conf_block("local_server", env="local_llm", **values))


@pytest.fixture
def fake_serve(monkeypatch):
    """``transformers serve`` replaced by fake_serve.py; ``mode`` chooses how it behaves."""
    state = {"mode": "ok", "commands": []}

    def command(served_name, host, port, settings):
        state["commands"].append(serve_command(served_name, host, port, settings))
        return [sys.executable, str(FAKE), served_name, "--host", host, "--port", str(port), "--mode", state["mode"]]

    monkeypatch.setattr(local_server_module, "serve_command", command)
    return state


@pytest.fixture
def model_folder(tmp_path) -> str:
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    return str(folder)


def _requests(texts):
    import pandas as pd

    return pd.DataFrame(
        {
            "request_id": [f"r{i}" for i in range(len(texts))],
            "messages": [[{"role": "user", "content": t}] for t in texts],
        }
    )


def _teacher(**overrides) -> dict:
    return conf_block("teacher", env="local_llm", cache_path=None, progress=False, **overrides)


def test_the_command_is_transformers_serve_on_the_served_name():
    command = serve_command(NAME, "127.0.0.1", 8766, _settings())
    assert command[:5] == [sys.executable, "-m", "transformers.cli.transformers", "serve", NAME]
    assert command[command.index("--port") + 1] == "8766" and command[command.index("--device") + 1] == "cpu"
    assert "--no-continuous-batching" in command
    assert "--continuous-batching" in serve_command(NAME, "127.0.0.1", 1, _settings(continuous_batching=True))


def test_the_configured_port_is_used_when_free_and_another_when_taken():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        moved = choose_port("127.0.0.1", taken)
        assert moved != taken and moved > 0
    assert choose_port("127.0.0.1", taken) == taken  # free again


def test_the_server_starts_answers_under_its_name_and_stops(fake_serve, model_folder):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with local_server(model_folder, NAME, _settings(port=taken)) as server:
            assert server.port != taken and server.running()
            assert (server.workdir / NAME).resolve() == Path(model_folder).resolve()
            out = complete(_requests(["hello"]), TeacherSettings.model_validate(_teacher(base_url=server.base_url)))
            assert out["text"].tolist() == ["echo: hello"] and out["teacher_model"].tolist() == [NAME]
    assert not server.running() and not server.workdir.exists()
    server.stop()  # idempotent


def test_a_server_that_exits_is_reported_with_the_end_of_its_log(fake_serve, model_folder):
    fake_serve["mode"] = "exit"
    with pytest.raises(LocalServerError, match=r"exited with code 3(.|\n)*cannot load the model \(on purpose\)"):
        start_local_server(model_folder, NAME, _settings())


def test_a_server_that_never_answers_is_stopped_after_the_timeout(fake_serve, model_folder):
    fake_serve["mode"] = "hang"
    with pytest.raises(LocalServerError, match=r"within 1 s(.|\n)*loading forever"):
        start_local_server(model_folder, NAME, _settings(start_timeout_s=1))
    assert not local_server_module._RUNNING


def test_a_folder_that_is_no_model_or_a_bad_name_is_refused(tmp_path, model_folder):
    with pytest.raises(LocalServerError, match="no config.json"):
        start_local_server(tmp_path, NAME, _settings())
    with pytest.raises(LocalServerError, match="one folder entry"):
        start_local_server(model_folder, "org/model", _settings())


# -- the hook --------------------------------------------------------------------------------
def _ask(requests, teacher: TeacherSettings):
    return complete(requests, teacher)


def _pipeline(model_folder: str) -> Pipeline:
    """A node that makes the model (as the packaged_model node does: first, it has no upstream node), and a
    teacher node after a node that prepares its requests (as every teacher node of the project has)."""
    return Pipeline(
        [
            Node(lambda: model_folder, inputs=None, outputs="packaged_model", name="convert"),
            Node(_requests, inputs="texts", outputs="requests", name="prepare"),
            Node(_ask, inputs=["requests", "params:teacher"], outputs="results", name="ask"),
        ]
    )


def _ask_node(pipeline: Pipeline) -> Node:
    return next(node for node in pipeline.nodes if node.name == "ask")


class _Folder(AbstractDataset):
    """``packaged_model`` as the run sees it: persisted (not released after its last use), a path once made."""

    def __init__(self, path: str | None = None):
        self.path = path

    def _load(self) -> str:
        if self.path is None:
            raise FileNotFoundError("no converted model yet")
        return self.path

    def _save(self, data: str) -> None:
        self.path = data

    def _describe(self) -> dict:
        return {"path": self.path}


def _catalog(teacher: dict, server: LocalServerSettings, folder: str | None = None) -> DataCatalog:
    """The run's parameters, its requests, and ``packaged_model`` (``folder``: already made)."""
    catalog = DataCatalog()
    catalog["packaged_model"] = _Folder(folder)
    catalog["params:teacher"] = teacher
    catalog["params:local_server"] = server.model_dump()
    catalog["texts"] = ["one", "two"]
    return catalog


def test_a_run_starts_the_server_at_its_first_teacher_node_and_stops_it_at_the_end(fake_serve, model_folder):
    hooks, manager = LocalServerHooks(), _create_hook_manager()
    manager.register(hooks)
    pipeline, catalog = _pipeline(model_folder), _catalog(_teacher(), _settings())
    run = {"run_id": "run-1"}
    manager.hook.before_pipeline_run(run_params=run, pipeline=pipeline, catalog=catalog)
    assert hooks._servers == {}  # nothing started before the model exists
    try:
        SequentialRunner().run(pipeline, catalog, manager, run_id="run-1")
        server = hooks._servers["run-1"]
    finally:
        manager.hook.after_pipeline_run(run_params=run, run_result={}, pipeline=pipeline, catalog=catalog)
    results = catalog.load("results")
    assert results["text"].tolist() == ["echo: one", "echo: two"] and (results["teacher_model"] == NAME).all()
    assert not server.running() and hooks._servers == {} and hooks._planned == {}


def test_a_failed_run_stops_its_server(fake_serve, model_folder):
    hooks = LocalServerHooks()
    pipeline, catalog = _pipeline(model_folder), _catalog(_teacher(), _settings(), folder=model_folder)
    hooks.before_pipeline_run({"run_id": "r"}, pipeline, catalog)
    node = _ask_node(pipeline)
    routed = hooks.before_node_run(node, catalog, {"requests": None, "params:teacher": _teacher()}, "r")
    server = hooks._servers["r"]
    assert routed["params:teacher"].base_url == server.base_url and routed["params:teacher"].model == NAME
    hooks.on_pipeline_error(RuntimeError("boom"), {"run_id": "r"}, pipeline, catalog)
    assert not server.running()


def test_no_server_unless_the_run_asks_for_one(fake_serve, model_folder):
    hooks = LocalServerHooks()
    pipeline = _pipeline(model_folder)
    hooks.before_pipeline_run({"run_id": "off"}, pipeline, _catalog(_teacher(), _settings(serve=False)))
    in_process = _teacher(backend="transformers", model=model_folder)
    hooks.before_pipeline_run({"run_id": "local"}, pipeline, _catalog(in_process, _settings()))
    base = DataCatalog()
    base["params:teacher"] = _teacher()
    hooks.before_pipeline_run({"run_id": "base"}, pipeline, base)  # no params:local_server (conf/base)
    assert hooks._planned == {}
    node = _ask_node(pipeline)
    assert hooks.before_node_run(node, base, {"params:teacher": _teacher()}, "off") is None
    assert not fake_serve["commands"]


def test_replay_and_local_server_together_is_an_error(model_folder):
    both = _catalog(_teacher(replay={"serve": True}), _settings())
    with pytest.raises(ValueError, match="one run has one teacher"):
        LocalServerHooks().before_pipeline_run({"run_id": "r"}, _pipeline(model_folder), both)


def test_a_missing_model_folder_says_how_to_make_it(fake_serve):
    hooks = LocalServerHooks()
    pipeline = Pipeline([Node(_ask, inputs=["requests", "params:teacher"], outputs="results", name="ask")])
    catalog = _catalog(_teacher(), _settings())
    hooks.before_pipeline_run({"run_id": "r"}, pipeline, catalog)
    with pytest.raises(LocalServerError, match="catalog entry 'packaged_model'(.|\n)*no converted model yet"):
        hooks.before_node_run(pipeline.nodes[0], catalog, {"params:teacher": _teacher()}, "r")
