"""Tiny inputs for the instruction_generation tests, and conf's parameters scaled down for them."""

import pandas as pd
import pytest
from conf_params import conf_block, merge

from lamini_lm.pipelines.instruction_generation.params import InstructionGenerationParams

# Overrides of conf/base's block for the tests (everything else comes from conf).
OVERRIDES = {
    "seed": 7,
    "pool_sources": ["alpaca", "original_p3", "original_flan"],
    "topics": {"keep": 50, "max_words": 3},
    "generation": {
        "examples_per_prompt": 2,
        "topics_per_prompt": 2,
        "temperature": 1.0,
        "max_tokens": 256,
        "strategies": {
            "self_instruct_without_topic": {"target_instructions": 10, "instructions_per_prompt": 5},
            "self_instruct_with_topic": {"target_instructions": 5, "instructions_per_prompt": 5},
            "generated_p3": {"target_instructions": 5, "instructions_per_prompt": 5},
            "generated_flan": {"target_instructions": 5, "instructions_per_prompt": 5},
        },
    },
    "filters": {"min_words": 3, "max_words": 60},
    "dedup": {"lsh_threshold": 0.4, "num_perm": 64, "rouge_threshold": 0.7},
}


def ig_params(**overrides) -> InstructionGenerationParams:
    """conf/base's ``instruction_generation`` with the tests' overrides, then ``overrides``, validated."""
    return InstructionGenerationParams.model_validate(
        conf_block("instruction_generation", **merge(OVERRIDES, overrides))
    )


@pytest.fixture
def params() -> InstructionGenerationParams:
    return ig_params()


@pytest.fixture
def originals():
    return pd.DataFrame(
        {
            "instruction": [
                "Give three tips for staying healthy.",
                "What is the relation between the given pairs?",
                'Rewrite the sentence in passive voice: "The dog chased the ball."',
                "What are the three primary colors?",
                'Answer the question based on the passage: "Paris is the capital of France." What is the capital?',
            ],
            "instruction_source": ["seed", "seed", "alpaca", "alpaca", "original_p3"],
            "source_id": ["seed_task_0", "seed_task_1", "alpaca/1", "alpaca/2", "squad/1"],
            "subset": [None, None, None, None, "squad"],
        }
    )


@pytest.fixture
def topics():
    return pd.DataFrame({"topic": ["Plasma physics", "Flora of Nepal", "Fantasy novels"]})


def fake_results(prompts: pd.DataFrame, replies: dict[str, tuple]) -> pd.DataFrame:
    """Teacher results as ``lamini_lm.teacher.complete`` returns them; ``replies`` maps a prompt id
    to ``(text, finish_reason)`` or ``(None, error_kind)``."""
    rows = []
    for prompt_id in prompts["prompt_id"]:
        text, status = replies.get(prompt_id, ("1. Explain how rainbows form.\n2. Name a famous painter.", "stop"))
        failed = text is None
        rows.append(
            {
                "request_id": prompt_id,
                "text": text,
                "finish_reason": None if failed else status,
                "prompt_tokens": 100,
                "completion_tokens": 0 if failed else 40,
                "cost_usd": 0.0 if failed else 0.001,
                "latency_s": 0.01,
                "attempts": 1,
                "cached": False,
                "error_kind": status if failed else None,
                "error_message": "boom" if failed else None,
                "teacher_model": None if failed else "replay:gpt-3.5-turbo",
            }
        )
    return pd.DataFrame(rows)
