"""Tokenisation of instruction/response pairs, as each family is trained.

``causal``: ``wrapper(instruction) + RESPONSE_SEPARATOR + response + EOS`` in one sequence; the
loss is on the response tokens only (prompt labels are ``-100``). ``seq2seq``: the instruction is
the encoder input, the response (+ EOS) the labels. Both are truncated to ``max_length`` tokens.

The paper does not publish what separates the wrapper's ``### Response:`` from the response. We use
one space (:data:`RESPONSE_SEPARATOR`) and tokenise the causal text the way lm-evaluation-harness
scores a (context, continuation) pair and Alpaca's ``train.py`` masks its prompts: the whole text at
once, the first ``len(tokens(prompt))`` tokens being the prompt (Alpaca joins the two with nothing). The decoder-only students are evaluated in the same wrapper with
continuations that start with a space (lm-eval's target delimiter), so training and evaluation see
the same token boundary; with a byte-level BPE (GPT-2, GPT-Neo, GPT-J, Cerebras) the space is the
start of the response's first token.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import pandas as pd

from lamini_lm.prompting import format_prompt

IGNORE_INDEX = -100
# What follows the wrapper's "### Response:" before the response, in training (our choice: unpublished).
RESPONSE_SEPARATOR = " "


def tokenizer_fingerprint(tokenizer: Any) -> str:
    """A short hash of the tokenizer's full definition (vocabulary, merges, special tokens)."""
    backend = getattr(tokenizer, "backend_tokenizer", None) or getattr(tokenizer, "_tokenizer", None)
    definition = backend.to_str() if backend is not None else repr(sorted(tokenizer.get_vocab().items()))
    specials = repr(sorted((k, str(v)) for k, v in tokenizer.special_tokens_map.items()))
    return hashlib.sha256((definition + specials).encode("utf-8")).hexdigest()[:16]


CHUNK_ROWS = 2048


def encode_pairs(
    tokenizer: Any, instructions: list[str], responses: list[str], family: str, max_length: int
) -> list[dict[str, list[int]]]:
    """Token ids and labels of many examples (one batched tokenizer call per side)."""
    eos = tokenizer.eos_token_id
    if family == "causal":
        prompts = [format_prompt(i, "causal") for i in instructions]
        prompt_ids = tokenizer(prompts, add_special_tokens=False)["input_ids"]
        texts = [p + RESPONSE_SEPARATOR + r for p, r in zip(prompts, responses)]
        text_ids = tokenizer(texts, add_special_tokens=False)["input_ids"]
        rows = []
        for prompt, whole in zip(prompt_ids, text_ids):
            # As lm-eval splits a (context, continuation) pair: the response is what follows the prompt's tokens.
            ids = [*whole, eos]
            rows.append(
                {
                    "input_ids": ids[:max_length],
                    "labels": ([IGNORE_INDEX] * len(prompt) + ids[len(prompt) :])[:max_length],
                }
            )
        return rows
    sources = tokenizer(list(instructions), add_special_tokens=False)["input_ids"]
    targets = tokenizer(list(responses), add_special_tokens=False)["input_ids"]
    return [
        {"input_ids": source[: max_length - 1] + [eos], "labels": target[: max_length - 1] + [eos]}
        for source, target in zip(sources, targets)
    ]


def encode_causal(tokenizer: Any, instruction: str, response: str, max_length: int) -> dict[str, list[int]]:
    """Token ids and labels of one causal example (labels ``-100`` on the prompt)."""
    return encode_pairs(tokenizer, [instruction], [response], "causal", max_length)[0]


def encode_seq2seq(tokenizer: Any, instruction: str, response: str, max_length: int) -> dict[str, list[int]]:
    """Encoder ids of the instruction and label ids of the response, each ending in EOS."""
    return encode_pairs(tokenizer, [instruction], [response], "seq2seq", max_length)[0]


def tokenize_frame(frame: pd.DataFrame, tokenizer: Any, family: str, max_length: int) -> tuple[pd.DataFrame, int]:
    """Tokenise every row of ``frame``; returns the table and how many rows were dropped.

    Rows whose prompt fills ``max_length`` leave no response token to learn from and are dropped.
    The table carries ``tokenizer_fingerprint`` and ``max_length`` so that stored tokenised data
    can be checked against the tokenizer that will train on it.
    """
    from tqdm.auto import tqdm

    instructions, responses = frame["instruction"].astype(str).tolist(), frame["response"].astype(str).tolist()
    rows: list[dict[str, list[int]]] = []
    starts = range(0, len(frame), CHUNK_ROWS)
    for start in tqdm(starts, desc="tokenising", unit="chunk", disable=len(starts) < 5):
        end = start + CHUNK_ROWS
        rows.extend(encode_pairs(tokenizer, instructions[start:end], responses[start:end], family, max_length))
    keep = [any(label != IGNORE_INDEX for label in row["labels"]) for row in rows]
    rows = [row for row, ok in zip(rows, keep) if ok]
    out = pd.DataFrame(
        {
            "input_ids": [row["input_ids"] for row in rows],
            "labels": [row["labels"] for row in rows],
        }
    )
    out["length"] = [example_length(row, family) for row in rows]
    out["tokenizer_fingerprint"] = tokenizer_fingerprint(tokenizer)
    out["max_length"] = max_length
    return out, len(keep) - int(sum(keep))


def example_length(row: dict[str, Any], family: str) -> int:
    """Tokens in one example: the sequence (causal) or encoder plus decoder tokens (seq2seq)."""
    if family == "causal":
        return len(row["input_ids"])
    return len(row["input_ids"]) + len(row["labels"])


def as_records(frame: pd.DataFrame) -> dict[str, list]:
    """Columns of a tokenised table as plain lists (parquet gives numpy arrays back)."""
    return {
        "input_ids": [np.asarray(x, dtype=np.int64).tolist() for x in frame["input_ids"]],
        "labels": [np.asarray(x, dtype=np.int64).tolist() for x in frame["labels"]],
        "length": [int(x) for x in frame["length"]],
    }
