"""Decoder-only students are asked in the Alpaca wrapper, as the authors' lm-eval fork asked them: the context
of every loglikelihood request becomes the instruction, the continuation is scored after ``### Response:``."""

from __future__ import annotations

import pytest
from conf_params import conf_block
from test_nodes import benchmark_settings

from lamini_lm.datasets.benchmark_source import BenchmarkSourceDataset
from lamini_lm.herd import ModelSpec
from lamini_lm.pipelines.evaluation import harness
from lamini_lm.prompting import CAUSAL_WRAPPER

QUESTION = (
    "Question: An astronomer observes that a planet rotates faster after a meteorite impact. "
    "Which is the most likely effect of this increase in rotation?\nAnswer:"
)
WRAPPED = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    f"### Instruction:\n{QUESTION}\n\n### Response:"
)
CHOICES = [
    " Planetary density will decrease.",
    " Planetary years will become longer.",
    " Planetary days will become shorter.",
    " Planetary gravity will become stronger.",
]


@pytest.fixture(scope="module")
def arc_docs(raw_data):
    """ARC-Challenge's first test document (Mercury_7175875), normalised as the node does."""
    raw = BenchmarkSourceDataset(filepath=str(raw_data / "benchmarks/arc_challenge/ARC-Challenge-Test.jsonl")).load()
    return harness.prepare_benchmark_docs(raw, "arc_challenge")


@pytest.fixture
def model_requests(monkeypatch):
    """What lm-eval's HFLM hands the network: ((context, continuation), context ids, continuation ids)."""
    from lm_eval.models.huggingface import HFLM

    seen: list = []

    def record(self, requests, disable_tqdm=False, override_bs=None):
        seen.extend(requests)
        return [(0.0, False)] * len(requests)

    monkeypatch.setattr(HFLM, "_loglikelihood_tokens", record)
    return seen


def spec(name: str, **overrides) -> ModelSpec:
    return ModelSpec.model_validate(conf_block(f"models.{name}", **overrides))


def test_wrapped_arc_request_at_token_level(causal_student, arc_docs, model_requests):
    result = harness.evaluate_benchmark(
        causal_student, arc_docs, benchmark_settings(limit=1), 0, "lamini_arc_challenge.yaml", spec("tiny_gpt2")
    )
    assert result["status"] == "ok" and result["wrapper"] is True and result["prompt_version"] == "lm_eval_0_4"
    assert WRAPPED == CAUSAL_WRAPPER.format(instruction=QUESTION)  # the one wrapper text, prompting.py
    assert [args for args, _, _ in model_requests] == [(WRAPPED, choice) for choice in CHOICES]

    tok = causal_student.tokenizer

    def ids(text: str) -> list[int]:
        return tok(text, add_special_tokens=False)["input_ids"]

    head, tail = CAUSAL_WRAPPER.split("{instruction}")
    for (context, continuation), context_ids, continuation_ids in model_requests:
        assert context == WRAPPED
        # The context's tokens: the wrapper's head, the question, the wrapper's tail — nothing else, no BOS.
        assert context_ids == ids(head) + ids(QUESTION) + ids(tail) == ids(WRAPPED)
        assert tok.decode(context_ids) == WRAPPED
        # The continuation: the answer's tokens after "### Response:" (lm-eval encodes the pair, then splits).
        assert context_ids + continuation_ids == ids(WRAPPED + continuation)
        assert tok.decode(continuation_ids) == continuation


def test_the_family_rule_and_the_member_setting(causal_student, seq2seq_student, arc_docs, model_requests):
    def asked(student, model_spec):
        model_requests.clear()
        result = harness.evaluate_benchmark(
            student, arc_docs, benchmark_settings(limit=1), 0, "lamini_arc_challenge.yaml", model_spec
        )
        assert result["status"] == "ok", result["reason"]
        return result["wrapper"], model_requests[0][0][0]

    assert asked(seq2seq_student, spec("tiny_t5")) == (False, QUESTION)  # encoder-decoder: the plain input
    assert asked(causal_student, spec("tiny_gpt2", benchmark_wrapper=False)) == (False, QUESTION)  # a base model
    assert asked(seq2seq_student, spec("tiny_t5", benchmark_wrapper=True)) == (True, WRAPPED)
    assert asked(causal_student, None) == (True, WRAPPED)  # no herd entry: the student's family decides


def test_every_request_type_is_wrapped_and_the_rest_delegated():
    class Recording:
        rank, world_size, device, batch_sizes = 0, 1, "cpu", {"x": 8}

        def loglikelihood(self, requests, **kwargs):
            return [r.args for r in requests]

        def generate_until(self, requests, **kwargs):
            return [r.args for r in requests]

    from lm_eval.api.instance import Instance

    lm = harness.wrap_requests(Recording())
    partial = Instance("loglikelihood", {}, ("The trophy did not fit because the trophy", " was too big."), 0)
    assert lm.loglikelihood([partial]) == [
        (CAUSAL_WRAPPER.format(instruction="The trophy did not fit because the trophy"), " was too big.")
    ]
    assert partial.args[0] == "The trophy did not fit because the trophy"  # the task's own request is untouched
    generate = Instance("generate_until", {}, ("Q: {x}?", {"until": ["\n"]}), 0)
    assert lm.generate_until([generate]) == [(CAUSAL_WRAPPER.format(instruction="Q: {x}?"), {"until": ["\n"]})]
    assert (lm.rank, lm.world_size, lm.batch_sizes) == (0, 1, {"x": 8})
    with pytest.raises(ValueError, match="no context"):
        lm.loglikelihood_rolling([partial])
