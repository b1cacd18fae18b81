"""The ``transformers`` backend on a tiny GPT-2 and a byte-level BPE tokenizer built here."""

from __future__ import annotations

import pytest
from teacher_helpers import instructions, requests_for, teacher_settings

from lamini_lm.teacher import complete


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, corpus):
    torch = pytest.importorskip("torch")
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny_teacher")
    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    bpe.train_from_iterator(instructions(corpus, 300), trainer)
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=bpe, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    tokenizer.save_pretrained(path)
    eos = tokenizer.eos_token_id
    config = GPT2Config(
        vocab_size=len(tokenizer), n_positions=256, n_embd=32, n_layer=2, n_head=2, bos_token_id=eos, eos_token_id=eos
    )
    GPT2LMHeadModel(config).save_pretrained(path)
    return str(path)


def test_local_model_answers_and_is_cached(tiny_model, corpus, tmp_path):
    texts = instructions(corpus, 5)
    settings = teacher_settings(
        backend="transformers",
        model=tiny_model,
        max_tokens=6,
        temperature=0.0,
        cache_path=str(tmp_path / "cache.sqlite"),
        progress=False,
        local={"batch_size": 3},
    )
    out = complete(requests_for(texts), settings)
    assert out["error_kind"].isna().all()
    assert (out["teacher_model"] == f"local:{tiny_model}").all()
    assert out["text"].map(lambda t: isinstance(t, str)).all()
    assert out["finish_reason"].isin(["stop", "length"]).all()
    assert ((out["completion_tokens"] <= 6) & (out["prompt_tokens"] > 0)).all()
    assert (out["cost_usd"] == 0).all()
    again = complete(requests_for(texts), settings)
    assert again["cached"].all() and again["text"].tolist() == out["text"].tolist()


def test_missing_local_model_is_named(tmp_path):
    settings = teacher_settings(
        backend="transformers", model=str(tmp_path / "nowhere"), cache_path=None, progress=False
    )
    with pytest.raises(RuntimeError, match="params:teacher.model"):
        complete(requests_for(["hello"]), settings)
