"""A trained (or base) student: model, tokenizer and what is needed to prompt it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lamini_lm.prompting import format_prompt


@dataclass
class Student:
    """What ``catalog.load("<model>.checkpoint")`` returns.

    ``family`` is ``"seq2seq"`` or ``"causal"``; ``metadata`` holds the training provenance written
    to the checkpoint (base model, data, hyper-parameters, validation loss, ...).
    """

    name: str
    family: str
    model: Any
    tokenizer: Any
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def generate(
        self,
        instructions: list[str],
        max_new_tokens: int = 128,
        batch_size: int = 8,
        max_input_length: int = 512,
        progress: str | None = None,
        **generate_kwargs: Any,
    ) -> list[str]:
        """Greedy (by default) responses to ``instructions``, prompted as the student was trained.

        The one place that decides how a prompt is cut to ``max_input_length`` tokens: a causal model
        also keeps room for ``max_new_tokens`` in its positions and drops the prompt's start (its end,
        "### Response:", stays); a seq2seq model drops the end. ``progress`` labels a progress bar
        over the batches (None: no bar).
        """
        import torch

        tok = self.tokenizer
        model = self.model
        model.eval()
        device = next(model.parameters()).device
        causal = self.family == "causal"
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        previous_sides = tok.padding_side, tok.truncation_side
        # A causal prompt keeps its end ("### Response:"), where the answer goes on; seq2seq keeps its start.
        tok.padding_side = tok.truncation_side = "left" if causal else "right"
        kwargs = {"do_sample": False, "max_new_tokens": max_new_tokens, **generate_kwargs}
        kwargs.setdefault("pad_token_id", tok.pad_token_id)
        if causal:
            # Prompt and answer share the position table.
            positions = getattr(model.config, "n_positions", None) or getattr(
                model.config, "max_position_embeddings", None
            )
            if positions:
                max_input_length = max(8, min(max_input_length, positions - kwargs["max_new_tokens"]))
        starts: Any = range(0, len(instructions), batch_size)
        if progress:
            from tqdm.auto import tqdm

            starts = tqdm(starts, desc=progress, leave=False)
        outputs: list[str] = []
        try:
            for start in starts:
                prompts = [format_prompt(i, self.family) for i in instructions[start : start + batch_size]]
                enc = tok(
                    prompts,
                    return_tensors="pt",
                    padding=True,
                    truncation=True,
                    max_length=max_input_length,
                ).to(device)
                with torch.no_grad():
                    generated = model.generate(**enc, **kwargs)
                if causal:
                    generated = generated[:, enc["input_ids"].shape[1] :]
                outputs.extend(t.strip() for t in tok.batch_decode(generated, skip_special_tokens=True))
        finally:
            tok.padding_side, tok.truncation_side = previous_sides
        return outputs
