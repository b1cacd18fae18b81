"""Demo students built from config: a byte-level BPE tokenizer trained on the data, tiny models.

Special tokens follow T5's numbering (``<pad>`` 0, ``</s>`` 1, ``<unk>`` 2) so that one
tokenizer layout serves both families; ``</s>`` is the end-of-sequence token.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lamini_lm.herd import auto_model_class

SPECIAL_TOKENS = ["<pad>", "</s>", "<unk>"]


def train_bpe_tokenizer(texts: Iterable[str], vocab_size: int, family: str, min_frequency: int = 2) -> Any:
    """A byte-level BPE tokenizer trained on ``texts``, wrapped as a transformers fast tokenizer.

    For ``seq2seq`` the tokenizer appends ``</s>`` to every encoded text, as T5's own does, so
    that a student is prompted at inference exactly as it was trained.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=min_frequency,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(texts, trainer=trainer)
    if family == "seq2seq":
        backend.post_processor = processors.TemplateProcessing(
            single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", backend.token_to_id("</s>"))]
        )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        bos_token="</s>" if family == "causal" else None,
        model_max_length=1_000_000,
    )
    return tokenizer


def build_tiny_model(family: str, config: dict[str, Any], tokenizer: Any) -> Any:
    """A randomly initialised model of ``config["model_type"]`` sized by the rest of ``config``.

    Vocabulary size and special-token ids come from the tokenizer, so the config only describes
    the architecture.
    """
    from transformers import AutoConfig

    kwargs = {k: v for k, v in config.items() if k != "model_type"}
    kwargs.update(
        vocab_size=len(tokenizer),
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    if family == "seq2seq":
        kwargs["decoder_start_token_id"] = tokenizer.pad_token_id
    else:
        bos = tokenizer.bos_token_id
        kwargs["bos_token_id"] = bos if bos is not None else tokenizer.eos_token_id
    model_config = AutoConfig.for_model(config["model_type"], **kwargs)
    return auto_model_class(family).from_config(model_config)
