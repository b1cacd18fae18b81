"""bespokelabs-curator's ``LLM`` against the replay teacher, as its users run it (peers' venv).

``LLM(model_name, backend="openai", backend_params={base_url, max_concurrent_requests, ...})``
called on the rows; its own cache, telemetry, hosted viewer and rich progress display are off so
the run is offline and every request is sent. Its rate limiter is given limits far above what
the replay teacher can serve, so concurrency is the only cap, as in the other runners.
"""

from __future__ import annotations

import os

from protocol import Window, missing, versions
from teacher_common import load_prompts, parse_args, report

args = parse_args(__doc__)
os.environ.update(
    CURATOR_DISABLE_CACHE="1",  # a fresh working dir: every request is sent
    CURATOR_CACHE_DIR=str(args.work_dir),
    CURATOR_VIEWER="0",
    CURATOR_DISABLE_RICH_DISPLAY="1",
    TELEMETRY_ENABLED="false",
    LITELLM_LOCAL_MODEL_COST_MAP="True",
    HF_DATASETS_OFFLINE="1",
    HF_HUB_OFFLINE="1",
    HF_DATASETS_CACHE=str(args.work_dir / "hf_datasets"),
    OPENAI_API_KEY="replay",
)
try:
    from importlib.util import find_spec

    # Its token estimates need tiktoken's cl100k_base, which litellm (a curator dependency) ships.
    litellm = find_spec("litellm")
    if litellm is not None and litellm.submodule_search_locations:
        tokenizers = os.path.join(litellm.submodule_search_locations[0], "litellm_core_utils", "tokenizers")
        os.environ.setdefault("TIKTOKEN_CACHE_DIR", tokenizers)
    from bespokelabs import curator
except ImportError as exc:
    missing(exc)

prompts = load_prompts(args.prompts)
llm = curator.LLM(
    model_name=args.model,
    backend="openai",
    generation_params={"max_tokens": args.max_tokens, "temperature": args.temperature},
    backend_params={
        "base_url": args.base_url,
        "api_key": "replay",
        "max_concurrent_requests": args.concurrency,
        "max_requests_per_minute": 100_000_000,
        "max_tokens_per_minute": 100_000_000_000,
        "max_retries": 0,
        # Its default also fails answers cut at max_tokens ("length"); the other runners keep them.
        "invalid_finish_reasons": ["content_filter"],
        "request_timeout": 60,
    },
)
with Window() as window:
    response = llm(prompts, working_dir=str(args.work_dir))
report(
    "bespokelabs-curator LLM",
    versions("bespokelabs-curator", "aiohttp", "litellm"),
    prompts,
    response.dataset["response"],
    window,
)
