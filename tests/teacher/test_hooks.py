"""The teacher's Kedro hooks: credentials in memory, the replay server's lifetime around a run."""

from __future__ import annotations

import socket

from kedro.pipeline import Node, Pipeline
from teacher_helpers import instructions, requests_for

from lamini_lm.teacher import complete, load_settings
from lamini_lm.teacher.credentials import get_api_key, redact
from lamini_lm.teacher.hooks import TeacherHooks
from lamini_lm.teacher.replay import is_replay_server


class _Context:
    def __init__(self, credentials, teacher):
        self.config_loader = {"credentials": credentials} if credentials is not None else {}
        self.params = {"teacher": teacher}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _teacher_pipeline() -> Pipeline:
    return Pipeline([Node(lambda r, t: r, inputs=["requests", "params:teacher"], outputs="results", name="ask")])


def test_credentials_are_registered_in_memory_only(monkeypatch):
    TeacherHooks().after_context_created(_Context({"openai": {"api_key": "sk-from-credentials-123"}}, {}))
    assert get_api_key() == "sk-from-credentials-123"
    assert redact("bad key sk-from-credentials-123!") == "bad key ***!"


def test_placeholder_or_missing_credentials_fall_back_to_env(monkeypatch):
    TeacherHooks().after_context_created(_Context({"openai": {"api_key": "sk-..."}}, {}))
    assert get_api_key() is None
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env-456")
    TeacherHooks().after_context_created(_Context(None, {}))
    assert get_api_key() == "sk-from-env-456"


def test_each_run_owns_its_replay_server(corpus):
    port = _free_port()
    teacher = {"replay": {"serve": True, "port": port}, "base_url": f"http://127.0.0.1:{port}/v1"}
    first, second = TeacherHooks(), TeacherHooks()
    first.after_context_created(_Context(None, teacher))
    second.after_context_created(_Context(None, teacher))
    first.before_pipeline_run({}, _teacher_pipeline(), None)
    assert is_replay_server("127.0.0.1", port)
    assert load_settings(teacher).base_url == f"http://127.0.0.1:{port}/v1"
    second.before_pipeline_run({}, _teacher_pipeline(), None)  # the port is taken: a server of its own
    own = second._handle.base_url
    assert own != first._handle.base_url and load_settings(teacher).base_url == own
    first.on_pipeline_error(RuntimeError("boom"), {}, _teacher_pipeline(), None)
    assert not is_replay_server("127.0.0.1", port, timeout=0.5)
    # The first run's end does not take the second run's teacher away.
    settings = {**teacher, "cache_path": None, "progress": False}
    out = complete(requests_for(instructions(corpus, 2)), settings)
    assert out["error_kind"].isna().all() and second._handle.stats["answered"] == 2
    second.after_pipeline_run({}, _teacher_pipeline(), None)
    assert load_settings(teacher).base_url == f"http://127.0.0.1:{port}/v1"  # routing ends with the run
    assert (
        load_settings({**teacher, "replay": {"serve": False, "port": port}, "base_url": "http://x/v1"}).base_url
        == "http://x/v1"
    )


def test_no_server_without_a_teacher_node_or_with_serve_false():
    port = _free_port()
    hooks = TeacherHooks()
    hooks.after_context_created(_Context(None, {"replay": {"serve": True, "port": port}}))
    other = Pipeline([Node(lambda x: x, inputs="a", outputs="b", name="n")])
    hooks.before_pipeline_run({}, other, None)
    assert hooks._handle is None
    hooks.after_context_created(_Context(None, {"replay": {"serve": False, "port": port}}))
    hooks.before_pipeline_run({}, _teacher_pipeline(), None)
    assert hooks._handle is None


def test_port_held_by_something_else_moves_the_replay_server(corpus):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        teacher = {"replay": {"serve": True, "port": port}, "base_url": f"http://127.0.0.1:{port}/v1"}
        hooks = TeacherHooks()
        hooks.after_context_created(_Context(None, teacher))
        hooks.before_pipeline_run({}, _teacher_pipeline(), None)
        try:
            url = load_settings(teacher).base_url
            assert url != teacher["base_url"] and is_replay_server("127.0.0.1", int(url.split(":")[2].split("/")[0]))
        finally:
            hooks.after_pipeline_run({}, _teacher_pipeline(), None)
