"""The teacher's Kedro hooks: credentials in memory, the replay server's lifetime around a run."""

from __future__ import annotations

import socket

import pytest
from kedro.pipeline import Node, Pipeline

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


def test_replay_server_lives_for_the_run_and_is_reused(corpus):
    port = _free_port()
    teacher = {"replay": {"serve": True, "port": port}}
    hooks, second = TeacherHooks(), TeacherHooks()
    hooks.after_context_created(_Context(None, teacher))
    second.after_context_created(_Context(None, teacher))
    hooks.before_pipeline_run({}, _teacher_pipeline(), None)
    assert is_replay_server("127.0.0.1", port)
    second.before_pipeline_run({}, _teacher_pipeline(), None)  # already served there: reused
    assert second._handle is None
    second.after_pipeline_run({}, _teacher_pipeline(), None)
    assert is_replay_server("127.0.0.1", port)  # the reuser does not stop someone else's server
    hooks.on_pipeline_error(RuntimeError("boom"), {}, _teacher_pipeline(), None)
    assert not is_replay_server("127.0.0.1", port, timeout=0.5)


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


def test_port_held_by_something_else_is_a_clear_error():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        hooks = TeacherHooks()
        hooks.after_context_created(_Context(None, {"replay": {"serve": True, "port": port}}))
        with pytest.raises(RuntimeError, match="teacher.replay.port"):
            hooks.before_pipeline_run({}, _teacher_pipeline(), None)
