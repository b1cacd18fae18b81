"""distilabel's ``OpenAILLM`` called directly against the replay teacher (peers' venv).

``OpenAILLM(model, base_url, api_key).load()`` then ``generate_outputs(inputs=...)`` on batches of
``--concurrency`` conversations, which is how distilabel itself drives an LLM (a task hands it one
input batch at a time and ``generate`` gathers the whole batch). SDK retries are off, as in the
other runners.
"""

from __future__ import annotations

import os

from protocol import Window, missing, versions
from teacher_common import load_prompts, parse_args, report

args = parse_args(__doc__)
os.environ.update(DISTILABEL_CACHE_DIR=str(args.work_dir), HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
try:
    from distilabel.models.llms import OpenAILLM
except ImportError as exc:
    missing(exc)

prompts = load_prompts(args.prompts)
llm = OpenAILLM(model=args.model, base_url=args.base_url, api_key="replay", max_retries=0, timeout=60)
llm.load()
answers: list = []
with Window() as window:
    for start in range(0, len(prompts), args.concurrency):
        batch = [[{"role": "user", "content": p}] for p in prompts[start : start + args.concurrency]]
        outputs = llm.generate_outputs(inputs=batch, max_new_tokens=args.max_tokens, temperature=args.temperature)
        answers.extend(output["generations"][0] for output in outputs)
report("distilabel OpenAILLM.generate_outputs", versions("distilabel", "openai", "httpx"), prompts, answers, window)
