"""The benchmarks' peer plumbing (benchmarks/peers): a missing peer is reported, a result line is parsed."""

import sys
import textwrap
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from peers import run_peer  # noqa: E402
from peers.protocol import NOT_INSTALLED  # noqa: E402

TEACHER_ARGS = ["--base-url", "http://127.0.0.1:9/v1", "--prompts", "unused.json", "--concurrency", "4"]


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "peer_script.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_a_missing_peers_python_is_reported_as_not_installed(tmp_path):
    row = run_peer(tmp_path / "no-venv" / "bin" / "python", "teacher_curator.py", TEACHER_ARGS)
    assert row["status"] == NOT_INSTALLED
    assert "no-venv" in row["detail"]


def test_a_failed_peer_import_is_reported_as_not_installed(tmp_path):
    path = script(
        tmp_path,
        """
        from protocol import missing
        try:
            import lamini_no_such_peer_package
        except ImportError as exc:
            missing(exc)
        print("unreachable")
        """,
    )
    row = run_peer(sys.executable, path)
    assert row["status"] == NOT_INSTALLED
    assert row["missing"] == "lamini_no_such_peer_package"


@pytest.mark.parametrize("name", ["teacher_curator.py", "teacher_distilabel_llm.py", "teacher_distilabel_pipeline.py"])
def test_the_teacher_peer_scripts_say_not_installed_in_the_project_venv(name, tmp_path):
    """The project's venv has neither curator nor distilabel: each real script says so, no traceback."""
    row = run_peer(sys.executable, name, [*TEACHER_ARGS, "--work-dir", tmp_path])
    assert row["status"] == NOT_INSTALLED, row
    assert row["missing"] in {"bespokelabs", "distilabel"}


def test_the_result_line_is_found_among_the_peer_libraries_own_output(tmp_path):
    path = script(
        tmp_path,
        """
        import sys
        from protocol import Window, emit
        print("a library's banner: {not json}")
        with Window() as window:
            sum(range(1000))
        print("progress to stderr", file=sys.stderr)
        emit(status="ok", requests=3, answered=3, wall_s=window.wall_s, cpu_s=window.cpu_s)
        print("a library's goodbye")
        """,
    )
    row = run_peer(sys.executable, path)
    assert row["status"] == "ok"
    assert (row["requests"], row["answered"]) == (3, 3)
    assert row["wall_s"] >= 0 and row["cpu_s"] >= 0
    assert row["process_wall_s"] >= row["wall_s"]


def test_a_crashing_peer_is_reported_as_failed_with_its_error(tmp_path):
    path = script(tmp_path, "raise RuntimeError('the replay teacher refused: 400')\n")
    row = run_peer(sys.executable, path)
    assert row["status"].startswith("failed (exit 1)")
    assert "the replay teacher refused: 400" in row["status"]


def test_a_peer_that_prints_a_result_and_then_fails_is_not_ok(tmp_path):
    path = script(
        tmp_path,
        """
        import sys
        from protocol import emit
        emit(status="ok", requests=1, answered=1)
        sys.exit("cleanup failed")
        """,
    )
    row = run_peer(sys.executable, path)
    assert row["status"] == "failed (exit 1): cleanup failed"


def test_a_hanging_peer_times_out(tmp_path):
    path = script(tmp_path, "import time\ntime.sleep(30)\n")
    row = run_peer(sys.executable, path, timeout_s=1)
    assert row["status"] == "failed: timed out after 1 s (peer_script.py)"
