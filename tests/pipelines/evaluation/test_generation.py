"""``Student.generate`` decides how a long prompt is cut; the evaluation's answers go through it."""

from __future__ import annotations

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.herd import auto_model_class
from lamini_lm.pipelines.evaluation import instructions
from lamini_lm.pipelines.evaluation.params import GenerationParams, UserOrientedParams

LONG = "fox " * 600 + "END"


@pytest.fixture
def seen_inputs(monkeypatch):
    """Record the prompts (as decoded token ids) a student's model is asked to continue."""

    def spy(student) -> list[str]:
        seen: list[str] = []
        generate = student.model.generate

        def recording(**kwargs):
            seen.extend(student.tokenizer.batch_decode(kwargs["input_ids"], skip_special_tokens=True))
            return generate(**kwargs)

        monkeypatch.setattr(student.model, "generate", recording)
        return seen

    return spy


def test_a_causal_prompt_loses_its_start_and_keeps_the_response_wrapper(causal_student, seen_inputs):
    seen = seen_inputs(causal_student)
    sides = causal_student.tokenizer.padding_side, causal_student.tokenizer.truncation_side
    causal_student.generate([LONG], max_new_tokens=6, max_input_length=4096, progress="test")
    prompt = seen[0]
    assert prompt.rstrip().endswith("END\n\n### Response:") and not prompt.startswith("Below is an instruction")
    positions = causal_student.model.config.n_positions
    assert len(causal_student.tokenizer(prompt)["input_ids"]) <= positions - 6  # room left for the answer
    assert (causal_student.tokenizer.padding_side, causal_student.tokenizer.truncation_side) == sides


def test_a_seq2seq_prompt_loses_its_end(seq2seq_student, seen_inputs):
    seen = seen_inputs(seq2seq_student)
    seq2seq_student.tokenizer.truncation_side = "left"  # whatever the tokenizer says, generate decides
    try:
        seq2seq_student.generate(["START " + LONG], max_new_tokens=2, max_input_length=32)
    finally:
        seq2seq_student.tokenizer.truncation_side = "right"
    assert seen[0].startswith("START") and "END" not in seen[0]


def test_evaluation_answers_use_the_configured_generation(causal_student, seen_inputs):
    seen = seen_inputs(causal_student)
    generation = GenerationParams.model_validate(
        conf_block("evaluation.generation", max_new_tokens=3, batch_size=2, max_input_length=40)
    )
    frame = pd.DataFrame({"id": [1, 2, 3], "instruction": [LONG, "Say hi.", "Count."]})
    limit = UserOrientedParams.model_validate(conf_block("evaluation.user_oriented", limit=None))
    answers = instructions.answer_user_instructions(causal_student, frame, limit, generation)
    assert answers["status"].eq("ok").all() and len(answers) == 3
    assert len(seen) == 3 and seen[0].rstrip().endswith("### Response:")
    assert len(causal_student.tokenizer(seen[0])["input_ids"]) <= 40


def test_one_place_says_which_auto_class_a_family_uses():
    from transformers import AutoModelForCausalLM, AutoModelForSeq2SeqLM

    assert auto_model_class("seq2seq") is AutoModelForSeq2SeqLM and auto_model_class("causal") is AutoModelForCausalLM
    with pytest.raises(ValueError, match=r"Unknown model family 'encoder'"):
        auto_model_class("encoder")
