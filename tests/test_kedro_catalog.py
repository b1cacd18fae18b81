"""Catalog conventions (docs/kedro.md): a kedro-viz layer on every entry, one data root per environment."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from lamini_lm.settings import CONFIG_LOADER_ARGS, CONFIG_LOADER_CLASS

PROJECT_ROOT = Path(__file__).resolve().parents[1]
CONF = PROJECT_ROOT / "conf"
# kedro-viz's layer names, in the order data flows through them (Kedro's data-engineering convention).
LAYERS = ("raw", "intermediate", "primary", "feature", "model_input", "models", "model_output", "reporting")
FOLDERS = {f"{n:02d}_{layer}": layer for n, layer in enumerate(LAYERS, start=1)}
ENVIRONMENTS = sorted(p.name for p in CONF.iterdir() if p.is_dir() and p.name != "local")
CATALOG_FILES = sorted(CONF.glob("*/catalog*.yml"))


def _catalog(env: str) -> dict[str, dict]:
    loader = CONFIG_LOADER_CLASS(conf_source=str(CONF), env=env, **CONFIG_LOADER_ARGS)
    return loader["catalog"]


def _globals(env: str) -> dict:
    return CONFIG_LOADER_CLASS(conf_source=str(CONF), env=env, **CONFIG_LOADER_ARGS)["globals"]


def _location(entry: dict) -> str | None:
    """Where an entry reads or writes (``filepath`` or, for folders, ``path``); ``None`` in memory or on the hub."""
    return entry.get("filepath") or entry.get("path")


def _is_raw(entry: dict) -> bool:
    return entry["metadata"]["kedro-viz"]["layer"] == "raw"


def test_the_layer_folders_are_the_ones_in_data():
    assert set(FOLDERS) == {p.name for p in (PROJECT_ROOT / "data").iterdir() if p.is_dir() and p.name[:2].isdigit()}


@pytest.mark.parametrize("path", CATALOG_FILES, ids=lambda p: str(p.relative_to(CONF)))
def test_every_entry_of_every_catalog_file_has_a_kedro_viz_layer(path):
    entries = yaml.safe_load(path.read_text()) or {}
    missing = [
        name
        for name, entry in entries.items()
        if not name.startswith("_") and (entry.get("metadata") or {}).get("kedro-viz", {}).get("layer") not in LAYERS
    ]
    assert not missing, (
        f"{path.relative_to(PROJECT_ROOT)}: {missing} have no `metadata: {{kedro-viz: {{layer: ...}}}}` "
        f"with a layer of {LAYERS} (docs/kedro.md)"
    )


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_a_layer_matches_the_folder_its_entry_lives_in(env):
    root = _globals(env)["data_root"]
    for name, entry in _catalog(env).items():
        location = _location(entry)
        if location is None or "://" in location:
            continue
        relative = location.removeprefix("data/01_raw/") if location.startswith("data/01_raw/") else None
        shared = _globals(env).get("packaged_model_folder")  # local_llm: the wheel's conversion, for any env
        if relative is None and location == shared:
            folder = location.removeprefix("data/").split("/")[0]
        elif relative is None:
            assert location.startswith(f"{root}/"), f"{env}: {name} ({location}) is not under data_root {root!r}"
            folder = location.removeprefix(f"{root}/").split("/")[0]
        else:
            folder = "01_raw"
        assert folder in FOLDERS, f"{env}: {name} ({location}) is not in a layer folder {sorted(FOLDERS)}"
        assert entry["metadata"]["kedro-viz"]["layer"] == FOLDERS[folder], f"{env}: {name} ({location})"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_raw_entries_only_read_bundled_or_remote_data(env):
    for name, entry in _catalog(env).items():
        location = _location(entry)
        if _is_raw(entry) and location is not None:
            assert location.startswith("data/01_raw/") or "://" in location, f"{env}: {name} ({location})"


def test_base_and_paper_write_to_disjoint_data_roots():
    roots = {env: _globals(env)["data_root"] for env in ("base", "paper")}
    assert roots == {"base": "data", "paper": "data/paper"}
    outputs = {}
    for env in roots:
        outputs[env] = {
            name: _location(entry)
            for name, entry in _catalog(env).items()
            if not _is_raw(entry) and _location(entry) is not None
        }
    assert set(outputs["base"]) == set(outputs["paper"])  # the same datasets, each in its own root
    assert len(outputs["base"]) > 50
    for name, base_path in outputs["base"].items():
        paper_path = outputs["paper"][name]
        assert paper_path.startswith("data/paper/0"), name
        assert re.match(r"data/0[2-8]_", base_path), name
        # neither environment's file or folder contains the other's
        assert not paper_path.startswith(base_path) and not base_path.startswith(paper_path), name


def test_a_paper_run_reads_its_own_instruction_pool_and_writes_its_own_checkpoints():
    base, paper = _catalog("base"), _catalog("paper")
    assert paper["instruction_pool"]["filepath"] == "data/paper/03_primary/instruction_pool.parquet"
    assert paper["instruction_pool"]["filepath"] != base["instruction_pool"]["filepath"]
    assert paper["{model}.checkpoint"]["filepath"] == "data/paper/06_models/{model}"


def test_conf_local_globals_move_the_default_run(tmp_path):
    conf = tmp_path / "conf"
    for env in ("base", "paper"):
        (conf / env).mkdir(parents=True)
        for path in (CONF / env).glob("*.yml"):
            (conf / env / path.name).write_text(path.read_text())
    (conf / "local").mkdir()
    (conf / "local" / "globals.yml").write_text("data_root: /scratch/lamini\n")
    loader = CONFIG_LOADER_CLASS(conf_source=str(conf), env=None, **CONFIG_LOADER_ARGS)  # `kedro run`: base + local
    catalog = loader["catalog"]
    assert catalog["lamini_dataset"]["filepath"] == "/scratch/lamini/03_primary/lamini_dataset.parquet"
    assert catalog["paper_results_15_tasks"]["filepath"] == "data/01_raw/paper/results_15_tasks.csv"  # raw: shared


def test_the_paper_checkpoint_entry_keeps_every_key_of_base():
    base, paper = _catalog("base")["{model}.checkpoint"], _catalog("paper")["{model}.checkpoint"]
    assert set(base) <= set(paper), f"conf/paper drops {sorted(set(base) - set(paper))} of base's checkpoint entry"
    assert paper["on_load_error"] == base["on_load_error"] == "return"
    assert paper["metadata"] == base["metadata"]
    assert paper["versioned"] is True  # what paper changes


@pytest.mark.parametrize("env", [e for e in ENVIRONMENTS if e != "base"])
def test_an_environment_that_replaces_a_base_entry_keeps_its_layer(env):
    base = _catalog("base")
    for name, entry in _catalog(env).items():
        if name in base:
            assert entry["metadata"] == base[name]["metadata"], f"{env}: {name}"
