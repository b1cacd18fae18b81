"""Tiny students (built from config, tokenizer trained here) and a fake judge for evaluation tests."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from lamini_lm.student import Student

CORPUS = [
    "the quick brown fox jumps over the lazy dog",
    "question answer true false yes no positive negative",
    "a man is sitting on a roof and the lady lifts the weight",
] * 20


def _tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=320, special_tokens=["<pad>", "</s>", "<unk>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tok.train_from_iterator(CORPUS, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return _tokenizer()


@pytest.fixture(scope="session")
def causal_student(tiny_tokenizer) -> Student:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    config = GPT2Config(
        vocab_size=len(tiny_tokenizer),
        n_positions=256,
        n_embd=32,
        n_layer=1,
        n_head=2,
        bos_token_id=1,
        eos_token_id=1,
        pad_token_id=0,
    )
    return Student(name="tiny_gpt2", family="causal", model=GPT2LMHeadModel(config).eval(), tokenizer=tiny_tokenizer)


@pytest.fixture(scope="session")
def seq2seq_student(tiny_tokenizer) -> Student:
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    config = T5Config(
        vocab_size=len(tiny_tokenizer),
        d_model=32,
        d_ff=64,
        d_kv=8,
        num_heads=2,
        num_layers=1,
        num_decoder_layers=1,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    model = T5ForConditionalGeneration(config).eval()
    return Student(name="tiny_t5", family="seq2seq", model=model, tokenizer=tiny_tokenizer)


class FakeTeacher:
    """Stands in for ``lamini_lm.teacher.complete``: answers via ``reply(user_message, attempt)``."""

    def __init__(self, reply=None, error: str | None = None):
        self.reply = reply
        self.error = error
        self.calls: list[pd.DataFrame] = []

    def __call__(self, requests: pd.DataFrame, settings) -> pd.DataFrame:
        self.calls.append(requests)
        rows = []
        for request_id, messages in zip(requests["request_id"], requests["messages"]):
            base = {
                "request_id": request_id,
                "finish_reason": "stop",
                "prompt_tokens": 1,
                "completion_tokens": 1,
                "cost_usd": 0.0,
                "latency_s": 0.0,
                "attempts": 1,
                "cached": False,
                "teacher_model": "fake",
            }
            if self.error:
                rows.append(
                    base
                    | {
                        "text": None,
                        "error_kind": "not_found",
                        "error_message": self.error,
                        "teacher_model": "replay:none",
                    }
                )
            else:
                rows.append(
                    base
                    | {
                        "text": self.reply(messages[-1]["content"], len(self.calls) - 1),
                        "error_kind": None,
                        "error_message": None,
                    }
                )
        return pd.DataFrame(rows)


@pytest.fixture
def fake_teacher(monkeypatch):
    """Install a FakeTeacher as ``lamini_lm.teacher.complete``; returns a setter."""
    import lamini_lm.teacher

    def install(**kwargs) -> FakeTeacher:
        teacher = FakeTeacher(**kwargs)
        monkeypatch.setattr(lamini_lm.teacher, "complete", teacher)
        return teacher

    return install


@pytest.fixture
def project_copy(project_root, tmp_path, restore_mlflow_state):
    """A throwaway copy of the project (conf, bundled raw data, a one-row lamini_dataset) for tests that run a
    Kedro session on it; kedro-mlflow's process-wide state is put back afterwards (``restore_mlflow_state``)."""
    for name in ("pyproject.toml", ".kedro.yml"):
        shutil.copy(project_root / name, tmp_path / name)
    shutil.copytree(project_root / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local"))
    (tmp_path / "conf" / "local").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "data" / "03_primary").mkdir(parents=True)
    (tmp_path / "data" / "01_raw").symlink_to(project_root / "data" / "01_raw")
    pd.DataFrame({"instruction": ["Say hi."], "response": ["Hi!"], "split": ["validation"]}).to_parquet(
        tmp_path / "data/03_primary/lamini_dataset.parquet"
    )
    return tmp_path
