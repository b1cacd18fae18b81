"""A distilabel ``Pipeline`` (``LoadDataFromDicts >> TextGeneration(llm=OpenAILLM)``) against the
replay teacher, as its users run it (peers' venv).

``input_batch_size`` is ``--concurrency``: the task sends one batch at a time, all of it at once.
``pipeline.run(use_cache=False)`` so every request is sent; its cache and data go to
``--work-dir``. The timed window is the whole ``run()``, which includes starting the step
processes (reported separately as ``process`` figures by the caller for comparison).
"""

from __future__ import annotations

import os

from protocol import Window, missing, versions
from teacher_common import load_prompts, parse_args, report

args = parse_args(__doc__)
os.environ.update(
    DISTILABEL_CACHE_DIR=str(args.work_dir),
    HF_HUB_OFFLINE="1",
    HF_DATASETS_OFFLINE="1",
    HF_DATASETS_CACHE=str(args.work_dir / "hf_datasets"),
)
try:
    from distilabel.models.llms import OpenAILLM
    from distilabel.pipeline import Pipeline
    from distilabel.steps import LoadDataFromDicts
    from distilabel.steps.tasks import TextGeneration
except ImportError as exc:
    missing(exc)

prompts = load_prompts(args.prompts)
if __name__ == "__main__":  # the pipeline's step processes re-import this file
    with Pipeline(name="teacher-throughput", cache_dir=args.work_dir / "pipeline") as pipeline:
        load = LoadDataFromDicts(data=[{"instruction": p} for p in prompts], batch_size=args.concurrency)
        generate = TextGeneration(
            llm=OpenAILLM(
                model=args.model,
                base_url=args.base_url,
                api_key="replay",
                max_retries=0,
                timeout=60,
                generation_kwargs={"max_new_tokens": args.max_tokens, "temperature": args.temperature},
            ),
            input_batch_size=args.concurrency,
        )
        load >> generate
    with Window() as window:
        distiset = pipeline.run(use_cache=False)
    answers = distiset["default"]["train"]["generation"]
    report("distilabel Pipeline + TextGeneration", versions("distilabel", "openai", "httpx"), prompts, answers, window)
