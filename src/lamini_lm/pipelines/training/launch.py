"""The one training entry point, in-process or under ``torchrun`` / ``accelerate launch``.

In-process, the training node calls :func:`train` with launcher ``none``. With ``torchrun`` or
``accelerate``, :func:`train` writes the job (initial model, tokenizer, tokenised data,
hyper-parameters) to ``<work_dir>/job`` and starts::

    torchrun --standalone --nproc_per_node N -m lamini_lm.pipelines.training.launch --job-dir <work_dir>/job
    accelerate launch --config_file conf/base/accelerate/ddp.yaml -m lamini_lm.pipelines.training.launch --job-dir ...

Every process runs :func:`lamini_lm.pipelines.training.trainer.fit` on the same job; rank 0 writes
the trained model to ``<work_dir>/final`` and the metrics to ``<work_dir>/metrics.json``, which
the node reads back.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd

from lamini_lm.datasets.atomic import atomic_directory_write
from lamini_lm.herd import Hyperparameters, auto_model_class
from lamini_lm.pipelines.training.params import TrainingParams
from lamini_lm.pipelines.training.trainer import TrainingJob, fit, prepare_work_dir

logger = logging.getLogger(__name__)

MODULE = "lamini_lm.pipelines.training.launch"


def train(job: TrainingJob):
    """Train ``job`` in this process or through ``job.settings.launcher``; returns ``(model, metrics)``."""
    launcher = job.settings.launcher
    prepare_work_dir(job)
    if launcher == "none":
        return fit(job)
    job_dir = write_job(job)
    for stale in (Path(job.work_dir) / "final", Path(job.work_dir) / "metrics.json"):
        if stale.is_dir():
            shutil.rmtree(stale)
        elif stale.exists():
            stale.unlink()
    command = launch_command(job_dir, job.settings)
    logger.info("Model '%s': launching %s", job.name, " ".join(command))
    completed = subprocess.run(command, check=False, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if completed.returncode != 0:
        raise RuntimeError(
            f"Model '{job.name}': the {launcher} run failed with exit code {completed.returncode}; "
            f"its job is in {job_dir} (re-running resumes from the last checkpoint)."
        )
    return read_result(job)


def launch_command(job_dir: Path, settings: TrainingParams) -> list[str]:
    """The command line of ``training.launcher`` (with ``nproc_per_node``, ``accelerate_config``, ``launcher_args``)."""
    nproc = str(settings.nproc_per_node)
    extra = settings.launcher_args
    entry = ["-m", MODULE, "--job-dir", str(job_dir)]
    if settings.launcher == "torchrun":
        standalone = [] if any(a.startswith("--rdzv") or a.startswith("--nnodes") for a in extra) else ["--standalone"]
        return [sys.executable, "-m", "torch.distributed.run", *standalone, "--nproc_per_node", nproc, *extra, *entry]
    config = settings.accelerate_config
    config_args = ["--config_file", str(config)] if config else ["--num_processes", nproc]
    return [sys.executable, "-m", "accelerate.commands.launch", *config_args, *extra, *entry]


def write_job(job: TrainingJob) -> Path:
    """Serialise the job for the launched processes; returns its folder."""
    job_dir = Path(job.work_dir) / "job"

    def write(tmp: Path) -> None:
        job.model.save_pretrained(tmp / "init")
        job.tokenizer.save_pretrained(tmp / "init")
        job.train.to_parquet(tmp / "train.parquet")
        job.validation.to_parquet(tmp / "validation.parquet")
        spec = {
            "name": job.name,
            "family": job.family,
            "hyperparameters": job.hyperparameters.model_dump(mode="json"),
            "settings": job.settings.model_dump(mode="json"),
            "work_dir": str(job.work_dir),
            "tracking_run_id": job.tracking_run_id,
            "tracking_uri": job.tracking_uri,
        }
        (tmp / "job.json").write_text(json.dumps(spec, indent=2))

    atomic_directory_write(job_dir, write)
    return job_dir


def read_job(job_dir: Path) -> TrainingJob:
    """The job written by :func:`write_job`."""
    from transformers import AutoTokenizer

    job_dir = Path(job_dir)
    spec = json.loads((job_dir / "job.json").read_text())
    return TrainingJob(
        name=spec["name"],
        family=spec["family"],
        model=auto_model_class(spec["family"]).from_pretrained(job_dir / "init"),
        tokenizer=AutoTokenizer.from_pretrained(job_dir / "init"),
        train=pd.read_parquet(job_dir / "train.parquet"),
        validation=pd.read_parquet(job_dir / "validation.parquet"),
        hyperparameters=Hyperparameters.model_validate(spec["hyperparameters"]),
        settings=TrainingParams.model_validate(spec["settings"]),
        work_dir=Path(spec["work_dir"]),
        tracking_run_id=spec["tracking_run_id"],
        tracking_uri=spec["tracking_uri"],
    )


def read_result(job: TrainingJob):
    """The model and metrics that rank 0 of a launched run wrote."""
    work_dir = Path(job.work_dir)
    model = auto_model_class(job.family).from_pretrained(work_dir / "final")
    metrics = json.loads((work_dir / "metrics.json").read_text())
    return model, metrics


def main(argv: list[str] | None = None) -> None:
    """Entry point of every launched process."""
    parser = argparse.ArgumentParser(description="Train one LaMini-LM student (run under torchrun/accelerate).")
    parser.add_argument("--job-dir", required=True, type=Path, help="folder written by write_job()")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s rank" + os.environ.get("RANK", "0") + " %(message)s")
    job = read_job(args.job_dir)
    model, metrics = fit(job)
    if int(os.environ.get("RANK", "0")) == 0:
        work_dir = Path(job.work_dir)
        atomic_directory_write(work_dir / "final", model.save_pretrained)
        tmp = work_dir / "metrics.json.tmp"
        tmp.write_text(json.dumps(metrics, indent=2))
        tmp.replace(work_dir / "metrics.json")


if __name__ == "__main__":
    main()
