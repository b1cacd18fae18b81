"""The decoder-only loss on labelled positions only (label_loss.py) equals the model's own loss."""

from __future__ import annotations

import pytest
import torch
from conf_params import conf_block

from lamini_lm.pipelines.training import label_loss
from lamini_lm.pipelines.training.launch import train
from lamini_lm.pipelines.training.params import TrainingParams

VOCAB = 61


def _model(kind: str):
    from transformers import (
        GPT2Config,
        GPT2LMHeadModel,
        GPTJConfig,
        GPTJForCausalLM,
        GPTNeoConfig,
        GPTNeoForCausalLM,
        LlamaConfig,
        LlamaForCausalLM,
    )

    torch.manual_seed(0)
    small = dict(vocab_size=VOCAB, pad_token_id=0, eos_token_id=1, bos_token_id=1)
    if kind == "gpt2":
        return GPT2LMHeadModel(GPT2Config(n_embd=16, n_layer=2, n_head=2, n_positions=32, **small))
    if kind == "gpt_neo":
        config = GPTNeoConfig(hidden_size=16, num_layers=2, num_heads=2, attention_types=[[["global", "local"], 1]])
        return GPTNeoForCausalLM(GPTNeoConfig(**{**config.to_dict(), **small, "max_position_embeddings": 32}))
    if kind == "gptj":
        return GPTJForCausalLM(GPTJConfig(n_embd=16, n_layer=2, n_head=2, rotary_dim=4, n_positions=32, **small))
    return LlamaForCausalLM(
        LlamaConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=32,
            **small,
        )
    )


def _batch(seed: int):
    """Right-padded rows whose labels mask a prompt of varying length and the padding."""
    generator = torch.Generator().manual_seed(seed)
    lengths, prompts = [12, 9, 5, 12], [4, 6, 1, 0]
    input_ids = torch.randint(2, VOCAB, (4, 12), generator=generator)
    attention_mask = torch.zeros(4, 12, dtype=torch.long)
    labels = torch.full((4, 12), -100)
    for row, (n, p) in enumerate(zip(lengths, prompts)):
        attention_mask[row, :n] = 1
        input_ids[row, n:] = 0
        labels[row, p:n] = input_ids[row, p:n]
    return {"input_ids": input_ids, "attention_mask": attention_mask, "labels": labels}


def _loss_and_grads(model, batches, num_items=None):
    model.zero_grad(set_to_none=True)
    losses = []
    for batch in batches:
        extra = {} if num_items is None else {"num_items_in_batch": num_items}
        loss = model(**batch, **extra).loss
        loss.backward()
        losses.append(loss.detach())
    return torch.stack(losses), {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}


@pytest.mark.parametrize("kind", ["gpt2", "gpt_neo", "gptj", "llama"])
def test_loss_and_gradients_equal_the_models_own(kind):
    model = _model(kind).eval()  # dropout off: both paths see the same function
    batches = [_batch(1), _batch(2)]
    assert label_loss.supported(model)
    own = _loss_and_grads(model, batches[:1])
    # gradient accumulation: the Trainer's num_items_in_batch = labelled (shifted) positions of both micro-batches
    num_items = sum(int((b["labels"][:, 1:] != -100).sum()) for b in batches)
    own_accumulated = _loss_and_grads(model, batches, torch.tensor(num_items))

    undo = label_loss.install(model)
    ours = _loss_and_grads(model, batches[:1])
    ours_accumulated = _loss_and_grads(model, batches, torch.tensor(num_items))
    for theirs, mine in ((own, ours), (own_accumulated, ours_accumulated)):
        torch.testing.assert_close(mine[0], theirs[0], atol=1e-6, rtol=1e-6)
        assert mine[1].keys() == theirs[1].keys()
        for name in theirs[1]:
            torch.testing.assert_close(mine[1][name], theirs[1][name], atol=1e-6, rtol=1e-5, msg=name)

    # No labels (generation, scoring): the model's own forward, with its logits.
    assert model(input_ids=batches[0]["input_ids"]).logits.shape == (4, 12, VOCAB)
    assert model(**batches[0]).logits is None
    undo()
    assert "forward" not in model.__dict__ and model(**batches[0]).logits.shape == (4, 12, VOCAB)


def test_dropout_draws_match_the_models_own_in_training_mode():
    model = _model("gpt2").train()
    model.config.resid_pdrop = model.config.embd_pdrop = 0.5
    batch = _batch(3)
    torch.manual_seed(5)
    own = model(**batch).loss
    undo = label_loss.install(model)
    torch.manual_seed(5)
    ours = model(**batch).loss
    undo()
    torch.testing.assert_close(ours, own, atol=1e-6, rtol=1e-6)


def test_unsupported_models_keep_their_own_forward():
    from transformers import T5Config, T5ForConditionalGeneration

    gemma_like = _model("llama")
    gemma_like.config.model_type = "gemma2"  # soft-capped logits: the head is not lm_head(hidden) alone
    seq2seq = T5ForConditionalGeneration(T5Config(vocab_size=VOCAB, d_model=16, d_ff=32, num_layers=1, num_heads=2))
    for model in (gemma_like, seq2seq):
        assert not label_loss.supported(model)
        label_loss.install(model)()
        assert "forward" not in model.__dict__


def test_inputs_it_does_not_handle_go_to_the_models_own_forward():
    model = _model("gpt2").eval()
    batch = _batch(4)
    label_loss.install(model)
    embeds = model.get_input_embeddings()(batch.pop("input_ids"))
    out = model(inputs_embeds=embeds, **batch)
    assert out.logits.shape == (4, 12, VOCAB) and torch.isfinite(out.loss)


@pytest.mark.slow
def test_training_with_and_without_it_is_the_same_run(
    lamini_rows, models, hyperparameters, training, tmp_path, monkeypatch
):
    """Through the entry point: gradient accumulation (2 micro-batches of 4 per step), dropout on, padding."""
    from lamini_lm.pipelines.training import nodes
    from lamini_lm.pipelines.training.trainer import TrainingJob

    name, entry = "tiny_gpt2", models["tiny_gpt2"]
    hp = hyperparameters.model_copy(update={"per_device_batch_size": 4, "effective_batch_size": 8, "max_steps": 4})
    train_rows, validation_rows = nodes.split_dataset(lamini_rows.head(80), training, name=name)
    tokenizer = nodes.build_tokenizer(train_rows, entry, name=name)
    tokenized = nodes.tokenize_dataset(train_rows, validation_rows, tokenizer, entry, hp, name=name)
    calls = []
    counted = label_loss.labelled_loss
    monkeypatch.setattr(label_loss, "labelled_loss", lambda *a, **k: calls.append(1) or counted(*a, **k))
    runs = {}
    for on in (True, False):
        student = nodes.initialise_student(tokenizer, entry, training, name=name)
        settings = TrainingParams.model_validate(
            conf_block("training", seed=7, logging_steps=1, use_cpu=True, loss_on_labels_only=on)
        )
        job = TrainingJob(
            name=name,
            family="causal",
            model=student.model,
            tokenizer=tokenizer,
            train=tokenized[0],
            validation=tokenized[1],
            hyperparameters=hp,
            settings=settings,
            work_dir=tmp_path / f"work_{on}",
        )
        model, metrics = train(job)
        assert "forward" not in model.__dict__  # the returned model has its own forward back
        # every training micro-batch (4 steps x 2) and every validation batch, only when it is on
        assert len(calls) >= (8 if on else 0)
        calls.clear()
        runs[on] = metrics, {n: p.detach().clone() for n, p in model.named_parameters()}
    (ours, ours_weights), (own, own_weights) = runs[True], runs[False]
    assert ours["loss_on_labels_only"] and not own["loss_on_labels_only"]
    assert ours["gradient_accumulation_steps"] == 2 and ours["global_step"] == 4
    for key in ("validation_loss_before", "validation_loss_after", "train_loss"):
        assert ours[key] == pytest.approx(own[key], abs=1e-5), key
    assert [loss for _, loss in ours["loss_curve"]] == pytest.approx([loss for _, loss in own["loss_curve"]], abs=1e-4)
    for name_, weight in own_weights.items():
        torch.testing.assert_close(ours_weights[name_], weight, atol=1e-5, rtol=1e-4, msg=name_)
