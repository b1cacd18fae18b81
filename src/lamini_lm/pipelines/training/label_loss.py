"""Decoder-only training loss with the LM head applied only where a label is learnt.

A causal student's loss is on the response only: the prompt's labels (and the padding's) are
``-100``, about half the positions of a LaMini example in the Alpaca wrapper. The model's own
forward still projects every position onto the vocabulary (``d x vocab``: 768 x 50,257 for GPT-2)
and runs the softmax there; at GPT-2-124M's shape that head and its loss are about a third of a
training step on CPU (docs/benchmarks/training.md, "Decoder-only target"). :func:`install` swaps
the model's ``forward`` (on the instance, so DDP, FSDP and accelerate's autocast wrap it as they
wrap the original) for one that runs the base model, keeps the hidden states whose *shifted* label
is not ``-100`` and applies the LM head and the cross-entropy to those only.

The loss is the model's own (transformers' ``ForCausalLMLoss``): the mean over labelled positions,
or, when the Trainer passes ``num_items_in_batch`` (the labelled positions of all the micro-batches
of one optimiser step), their sum divided by it, so gradient accumulation weighs every token alike.
Logits are upcast to float32 before the loss, as there.

Where it cannot apply, the model's own forward runs unchanged:

- architectures not in :data:`SUPPORTED_MODEL_TYPES` (those whose LM head is exactly
  ``lm_head(last_hidden_state)``: GPT-2, and so Cerebras-GPT, GPT-Neo, GPT-J, LLaMA). Others may
  transform the logits (Gemma 2's soft-capping, Cohere's logit scale) or add to the loss (MoE
  router losses), so they keep their own path;
- calls without ``labels`` (generation) and calls with inputs other than :data:`PASSED_THROUGH`
  (``inputs_embeds``, a cache, ``shift_labels``, ``logits_to_keep``, ...).

Such calls return no logits (``logits=None``): the Trainer only reads the loss
(``prediction_loss_only`` in ``trainer.training_arguments``).
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any

from lamini_lm.pipelines.training.tokenize import IGNORE_INDEX

SUPPORTED_MODEL_TYPES = frozenset({"gpt2", "gpt_neo", "gptj", "llama"})
PASSED_THROUGH = frozenset({"input_ids", "attention_mask", "position_ids", "token_type_ids"})


def supported(model: Any) -> bool:
    """Whether ``model``'s logits are its LM head applied to its base model's last hidden state."""
    return (
        getattr(model.config, "model_type", None) in SUPPORTED_MODEL_TYPES
        and not model.config.is_encoder_decoder
        and model.get_output_embeddings() is not None
        and model.base_model is not model
    )


def labelled_loss(model: Any, hidden: Any, labels: Any, num_items_in_batch: Any = None) -> tuple[Any, Any]:
    """Loss and logits of the positions whose next token has a label (``hidden``: batch x length x d)."""
    import torch.nn.functional as F

    targets = labels[:, 1:].to(hidden.device)
    keep = targets != IGNORE_INDEX
    logits = model.get_output_embeddings()(hidden[:, :-1][keep]).float()
    if num_items_in_batch is None:
        return F.cross_entropy(logits, targets[keep]), logits
    loss = F.cross_entropy(logits, targets[keep], reduction="sum")
    if hasattr(num_items_in_batch, "to"):
        num_items_in_batch = num_items_in_batch.to(loss.device)
    return loss / num_items_in_batch, logits


def install(model: Any) -> Callable[[], None]:
    """Give ``model`` the labelled-positions forward (if :func:`supported`); returns the undo."""
    if not supported(model):
        return lambda: None
    from transformers.modeling_outputs import CausalLMOutputWithPast

    original, previous = model.forward, model.__dict__.get("forward")

    def forward(self, input_ids=None, attention_mask=None, labels=None, num_items_in_batch=None, **kwargs):
        inputs = {"input_ids": input_ids, "attention_mask": attention_mask, **kwargs}
        if labels is None or input_ids is None or not set(kwargs) <= PASSED_THROUGH:
            if num_items_in_batch is not None:
                inputs["num_items_in_batch"] = num_items_in_batch
            return original(labels=labels, **inputs)
        hidden = self.base_model(**inputs, use_cache=False)[0]
        loss, _ = labelled_loss(self, hidden, labels, num_items_in_batch)
        return CausalLMOutputWithPast(loss=loss)

    ours = types.MethodType(forward, model)
    model.forward = ours

    def undo() -> None:
        # also drops the wrappers (accelerate's autocast) put around this forward during training, and
        # accelerate's note of it (`_original_forward`, which its unwrap_model would put back)
        if model.__dict__.get("_original_forward") is ours:
            del model.__dict__["_original_forward"]
        if previous is None:
            model.__dict__.pop("forward", None)
        else:
            model.forward = previous

    return undo
