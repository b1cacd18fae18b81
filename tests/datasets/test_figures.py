"""AtomicMatplotlibDataset: the figures MatplotlibDataset writes, and a failed save leaves the old ones whole."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml
from kedro.io.core import DatasetError
from kedro_datasets.matplotlib import MatplotlibDataset
from matplotlib.figure import Figure

from lamini_lm.datasets.figures import AtomicMatplotlibDataset

FIGURE_TYPE = "lamini_lm.datasets.figures.AtomicMatplotlibDataset"


def _figure(points: int = 3, title: str = "") -> Figure:
    fig = Figure(figsize=(4, 3))
    fig.subplots().plot(range(points), [i % 7 for i in range(points)])
    fig.suptitle(title)
    return fig


class _Undrawable:
    """A figure whose rendering fails (as a bad artist or a full font cache would)."""

    def savefig(self, *args, **kwargs):
        raise RuntimeError("cannot draw")


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_the_files_are_the_ones_matplotlib_dataset_writes(tmp_path):
    figures = {"a.png": _figure(title="a"), "b.png": _figure(5, "b")}
    AtomicMatplotlibDataset(filepath=str(tmp_path / "ours"), save_args={"dpi": 50}).save(figures)
    MatplotlibDataset(filepath=str(tmp_path / "theirs"), save_args={"dpi": 50}).save(figures)
    assert _files(tmp_path / "ours") == _files(tmp_path / "theirs")
    single = _figure()
    AtomicMatplotlibDataset(filepath=str(tmp_path / "one.png")).save(single)
    MatplotlibDataset(filepath=str(tmp_path / "two.png")).save(single)
    assert (tmp_path / "one.png").read_bytes() == (tmp_path / "two.png").read_bytes()
    assert (tmp_path / "one.png").read_bytes().startswith(b"\x89PNG")


def test_a_figure_that_fails_to_draw_replaces_none_of_the_folder(tmp_path):
    dataset = AtomicMatplotlibDataset(filepath=str(tmp_path / "plots"))
    dataset.save({"a.png": _figure(title="old a"), "b.png": _figure(title="old b")})
    before = _files(tmp_path / "plots")
    with pytest.raises(DatasetError, match="cannot draw"):
        dataset.save({"a.png": _figure(9, "new a"), "b.png": _Undrawable()})
    assert _files(tmp_path / "plots") == before  # no temporary file left either
    dataset.save({"a.png": _figure(9, "new a"), "b.png": _figure(9, "new b")})
    assert set(_files(tmp_path / "plots")) == {"a.png", "b.png"} and _files(tmp_path / "plots") != before


_FULL_DISK = textwrap.dedent(
    """
    import resource, signal, sys
    from kedro_datasets.matplotlib import MatplotlibDataset
    from matplotlib.figure import Figure
    from lamini_lm.datasets.figures import AtomicMatplotlibDataset

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails (EFBIG) as on a full disk
    fig = Figure(figsize=(8, 6))
    fig.subplots().plot(range(500), [i % 11 for i in range(500)])
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
    for cls, path in ((AtomicMatplotlibDataset, sys.argv[1]), (MatplotlibDataset, sys.argv[2])):
        try:
            cls(filepath=path).save(fig)
        except Exception as exc:
            print(cls.__name__, "failed:", type(exc).__name__)
    """
)


def test_a_write_that_fails_half_way_leaves_the_old_file_whole(tmp_path, project_root):
    """The disk fills up (here: a file-size limit of 4 KiB) while a new figure is written over a good one."""
    ours, theirs = tmp_path / "ours.png", tmp_path / "theirs.png"
    for path in (ours, theirs):
        MatplotlibDataset(filepath=str(path)).save(_figure(200, "the good figure"))
    good = ours.read_bytes()
    assert len(good) > 4096 and theirs.read_bytes() == good
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(ours), str(theirs)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
        env={"PYTHONPATH": str(project_root / "src"), "MPLBACKEND": "Agg", "PATH": "/usr/bin:/bin"},
    )
    assert "AtomicMatplotlibDataset failed" in done.stdout and "MatplotlibDataset failed" in done.stdout
    assert ours.read_bytes() == good and [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    # What the subclass is for: kedro-datasets' own write truncated the good file to the limit.
    assert len(theirs.read_bytes()) == 4096


def test_every_figure_in_every_environment_is_written_atomically(project_root):
    figure_entries = {}
    for catalog in sorted((project_root / "conf").glob("*/catalog*.yml")):
        for name, entry in (yaml.safe_load(catalog.read_text()) or {}).items():
            if isinstance(entry, dict) and "matplotlib" in str(entry.get("type", "")).lower():
                figure_entries[f"{catalog.relative_to(project_root)}: {name}"] = entry["type"]
    assert len(figure_entries) >= 5  # loss curves, herd plots, token lengths, projection, source mix
    assert {k: v for k, v in figure_entries.items() if v != FIGURE_TYPE} == {}
