"""A malformed line in one benchmark file fails that benchmark (file and line named); the others are scored."""

from __future__ import annotations

from conf_params import conf_block
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
from lamini_lm.pipelines.evaluation import harness
from lamini_lm.pipelines.evaluation.outcome import Status
from lamini_lm.pipelines.evaluation.params import BenchmarkParams
from lamini_lm.pipelines.evaluation.pipeline import benchmark_data_pipeline

SETTINGS = BenchmarkParams.model_validate(
    conf_block("evaluation.benchmarks", limit=4, batch_size=8, bootstrap_iters=0, work_dir=None)
)


def test_one_malformed_benchmark_file_does_not_stop_the_others(project_root, tmp_path, causal_student):
    good = project_root / "data/01_raw/benchmarks/glue_sst2/dev.tsv"
    lines = (project_root / "data/01_raw/benchmarks/superglue_rte/val.jsonl").read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2][:-5]  # line 3 cut short, as a half-copied file would be
    bad = tmp_path / "val.jsonl"
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    catalog = DataCatalog(
        {
            "benchmark_raw_sst2": BenchmarkSourceDataset(filepath=str(good), file_format="tsv"),
            "benchmark_raw_rte": BenchmarkSourceDataset(filepath=str(bad)),
            "benchmark_docs_sst2": MemoryDataset(),
            "benchmark_docs_rte": MemoryDataset(),
        }
    )
    nodes = ["benchmark_data.prepare_benchmark_docs_sst2_node", "benchmark_data.prepare_benchmark_docs_rte_node"]
    SequentialRunner().run(benchmark_data_pipeline().filter(node_names=nodes), catalog)

    rte = harness.evaluate_benchmark(causal_student, catalog.load("benchmark_docs_rte"), SETTINGS, 0, "lamini_rte.yaml")
    assert rte["status"] == Status.ERROR and rte["value"] is None
    assert rte["reason"].startswith("bad data: ") and f"{bad}, line 3: invalid JSON" in rte["reason"]

    sst2 = harness.evaluate_benchmark(
        causal_student, catalog.load("benchmark_docs_sst2"), SETTINGS, 0, "lamini_sst2.yaml"
    )
    assert sst2["status"] == Status.OK and sst2["n_docs"] == 4, sst2["reason"]
