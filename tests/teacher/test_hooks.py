"""The teacher's Kedro hooks: credentials in memory, the replay server's lifetime around a run, and
every node of the run that takes ``params:teacher`` handed settings that point at that server."""

from __future__ import annotations

import socket

from conf_params import conf_block
from kedro.framework.hooks import _create_hook_manager
from kedro.io import DataCatalog
from kedro.pipeline import Node, Pipeline
from kedro.runner import SequentialRunner
from teacher_helpers import instructions, requests_for

from lamini_lm.teacher import TeacherSettings, complete
from lamini_lm.teacher.credentials import get_api_key, redact
from lamini_lm.teacher.hooks import TeacherHooks
from lamini_lm.teacher.replay import is_replay_server


class _Context:
    def __init__(self, credentials):
        self.config_loader = {"credentials": credentials} if credentials is not None else {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ask(requests, teacher: TeacherSettings):
    return complete(requests, teacher)


def _teacher_pipeline() -> Pipeline:
    return Pipeline([Node(_ask, inputs=["requests", "params:teacher"], outputs="results", name="ask")])


def _teacher(port: int, serve: bool = True) -> dict:
    """conf/base's teacher with the replay teacher configured on ``port``."""
    return conf_block(
        "teacher",
        base_url=f"http://127.0.0.1:{port}/v1",
        cache_path=None,
        progress=False,
        replay={"serve": serve, "port": port},
    )


def _catalog(teacher, requests=None) -> DataCatalog:
    catalog = DataCatalog()
    catalog["params:teacher"] = teacher
    if requests is not None:
        catalog["requests"] = requests
    return catalog


def _routed(hooks: TeacherHooks, run_id: str, teacher) -> TeacherSettings:
    """What the node ``ask`` of run ``run_id`` receives as ``params:teacher``."""
    node = _teacher_pipeline().nodes[0]
    replaced = hooks.before_node_run(node, {"requests": None, "params:teacher": teacher}, run_id)
    return teacher if replaced is None else replaced["params:teacher"]


def test_credentials_are_registered_in_memory_only(monkeypatch):
    TeacherHooks().after_context_created(_Context({"openai": {"api_key": "sk-from-credentials-123"}}))
    assert get_api_key() == "sk-from-credentials-123"
    assert redact("bad key sk-from-credentials-123!") == "bad key ***!"


def test_placeholder_or_missing_credentials_fall_back_to_env(monkeypatch):
    TeacherHooks().after_context_created(_Context({"openai": {"api_key": "sk-..."}}))
    assert get_api_key() is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-456")
    TeacherHooks().after_context_created(_Context(None))
    assert get_api_key() == "sk-from-env-456"


def test_each_run_owns_its_replay_server(corpus):
    port = _free_port()
    teacher = _teacher(port)
    first, second = TeacherHooks(), TeacherHooks()
    first.before_pipeline_run({"run_id": "first"}, _teacher_pipeline(), _catalog(teacher))
    assert is_replay_server("127.0.0.1", port)
    assert _routed(first, "first", teacher).base_url == f"http://127.0.0.1:{port}/v1"
    second.before_pipeline_run({"run_id": "second"}, _teacher_pipeline(), _catalog(teacher))  # port taken
    own = second._servers["second"].base_url
    assert own != first._servers["first"].base_url
    routed = _routed(second, "second", teacher)
    assert isinstance(routed, TeacherSettings) and routed.base_url == own
    first.on_pipeline_error(RuntimeError("boom"), {"run_id": "first"}, _teacher_pipeline(), None)
    assert not is_replay_server("127.0.0.1", port, timeout=0.5)
    # The first run's end does not take the second run's teacher away.
    out = complete(requests_for(instructions(corpus, 2)), routed)
    assert out["error_kind"].isna().all() and second._servers["second"].stats["answered"] == 2
    second.after_pipeline_run({"run_id": "second"}, _teacher_pipeline(), None)
    assert not is_replay_server("127.0.0.1", int(own.split(":")[2].split("/")[0]), timeout=0.5)
    assert _routed(second, "second", teacher) is teacher  # routing ends with the run


def test_one_hook_instance_serves_concurrent_runs_apart(corpus):
    port = _free_port()
    hooks = TeacherHooks()
    hooks.before_pipeline_run({"run_id": "a"}, _teacher_pipeline(), _catalog(_teacher(port)))
    hooks.before_pipeline_run({"run_id": "b"}, _teacher_pipeline(), _catalog(_teacher(port)))
    try:
        urls = {run: _routed(hooks, run, _teacher(port)).base_url for run in ("a", "b")}
        assert urls["a"] == f"http://127.0.0.1:{port}/v1" and urls["b"] != urls["a"]
        assert _routed(hooks, "not-a-run", _teacher(port)) == _teacher(port)
    finally:
        hooks.after_pipeline_run({"run_id": "a"}, _teacher_pipeline(), None)
        hooks.after_pipeline_run({"run_id": "b"}, _teacher_pipeline(), None)


def test_no_server_without_a_teacher_node_or_with_serve_false():
    port = _free_port()
    hooks = TeacherHooks()
    other = Pipeline([Node(lambda x: x, inputs="a", outputs="b", name="n")])
    hooks.before_pipeline_run({"run_id": "r"}, other, _catalog(_teacher(port)))
    assert hooks._servers == {}
    hooks.before_pipeline_run({"run_id": "r"}, _teacher_pipeline(), _catalog(_teacher(port, serve=False)))
    assert hooks._servers == {} and not is_replay_server("127.0.0.1", port, timeout=0.5)


def test_port_held_by_something_else_moves_the_replay_server(corpus):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        teacher = _teacher(port)
        hooks = TeacherHooks()
        hooks.before_pipeline_run({"run_id": "r"}, _teacher_pipeline(), _catalog(teacher))
        try:
            url = _routed(hooks, "r", teacher).base_url
            assert url != teacher["base_url"] and is_replay_server("127.0.0.1", int(url.split(":")[2].split("/")[0]))
        finally:
            hooks.after_pipeline_run({"run_id": "r"}, _teacher_pipeline(), None)


def test_a_run_with_the_port_taken_reaches_its_own_server_from_every_node(corpus):
    """Through Kedro's runner: a plain and a namespaced node (``params:teacher`` mapped to the
    shared name) both get TeacherSettings pointing at the run's server on a free port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()  # the configured port is taken
        port = sock.getsockname()[1]
        member = Pipeline(
            [Node(_ask, inputs=["requests", "params:teacher"], outputs="results", name="ask")],
            namespace="m1",
            inputs={"requests"},
            parameters={"params:teacher": "params:teacher"},
        )
        pipeline = _teacher_pipeline() + member
        catalog = _catalog(_teacher(port), requests_for(instructions(corpus, 3)))
        hooks = TeacherHooks()
        manager = _create_hook_manager()
        manager.register(hooks)
        run = {"run_id": "run-1"}
        manager.hook.before_pipeline_run(run_params=run, pipeline=pipeline, catalog=catalog)
        try:
            own = hooks._servers["run-1"]
            SequentialRunner().run(pipeline, catalog, manager, run_id="run-1")
        finally:
            manager.hook.after_pipeline_run(run_params=run, run_result={}, pipeline=pipeline, catalog=catalog)
    for name in ("results", "m1.results"):
        assert catalog.load(name)["error_kind"].isna().all()
    assert own.stats["answered"] == 6 and own.port != port  # both nodes asked the run's own server
    assert not hooks._servers
