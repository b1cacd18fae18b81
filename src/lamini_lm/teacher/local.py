"""The ``transformers`` backend: a local Hugging Face causal LM (hub id or path) as the teacher.

It loads ``local.path`` (or ``model`` when that is null) and labels results ``local:<model>``.

Batched generation with left padding; the tokenizer's chat template when it has one, otherwise a
plain ``role: content`` transcript ending in ``assistant:``. Token counts are the model's own;
cost is zero; results are cached like any other backend.
"""

from __future__ import annotations

import logging
import time

from lamini_lm.teacher.config import TeacherSettings
from lamini_lm.teacher.run import Job, Run

logger = logging.getLogger(__name__)


def render_chat(tokenizer, messages: list[dict[str, str]]) -> str:
    """The prompt text for ``messages``."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    lines = [f"{m['role']}: {m['content']}" for m in messages]
    return "\n".join(lines) + "\nassistant:"


class TransformersBackend:
    """Generates with ``AutoModelForCausalLM`` in batches of ``local.batch_size``."""

    def __init__(self, settings: TeacherSettings):
        self.settings = settings

    async def run(self, jobs: list[Job], run: Run) -> None:
        self.generate(jobs, run)

    def generate(self, jobs: list[Job], run: Run) -> None:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        cfg = self.settings.local
        source, key = (cfg.path, "teacher.local.path") if cfg.path else (self.settings.model, "teacher.model")
        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
            model = AutoModelForCausalLM.from_pretrained(source, dtype=cfg.torch_dtype)
        except OSError as exc:
            raise RuntimeError(f"params:{key}={source!r} cannot be loaded as a local causal LM ({exc}).") from exc
        model.to(cfg.device).eval()
        tokenizer.padding_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        model_name = self.settings.model
        name = model_name if model_name.startswith("local:") else f"local:{model_name}"
        ordered = sorted(jobs, key=lambda j: (j.temperature or 0.0, j.top_p or 1.0, j.max_tokens))
        for start in range(0, len(ordered), cfg.batch_size):
            batch = ordered[start : start + cfg.batch_size]
            # One sampling setup per generate() call: split the batch where settings change.
            groups: dict[tuple, list[Job]] = {}
            for job in batch:
                groups.setdefault((job.temperature or 0.0, job.top_p, job.max_tokens), []).append(job)
            for (temperature, top_p, max_tokens), group in groups.items():
                started = time.monotonic()
                prompts = [render_chat(tokenizer, j.messages) for j in group]
                inputs = tokenizer(prompts, return_tensors="pt", padding=True).to(cfg.device)
                kwargs = {"max_new_tokens": max_tokens, "pad_token_id": tokenizer.pad_token_id}
                if temperature > 0:
                    kwargs.update(do_sample=True, temperature=temperature, top_p=top_p or 1.0)
                else:
                    kwargs.update(do_sample=False)
                with torch.no_grad():
                    output = model.generate(**inputs, **kwargs)
                new = output[:, inputs["input_ids"].shape[1] :]
                latency = time.monotonic() - started
                for row, job in enumerate(group):
                    ids = new[row].tolist()
                    eos = tokenizer.eos_token_id
                    stopped = eos is not None and eos in ids
                    if stopped:
                        ids = ids[: ids.index(eos)]
                    ids = [i for i in ids if i != tokenizer.pad_token_id or i == eos]
                    run.success(
                        job,
                        text=tokenizer.decode(ids, skip_special_tokens=True).strip(),
                        finish_reason="stop" if stopped or len(ids) < max_tokens else "length",
                        prompt_tokens=int(inputs["attention_mask"][row].sum()),
                        completion_tokens=len(ids),
                        teacher_model=name,
                        latency_s=latency,
                        attempts=1,
                    )
