"""Tokenisation and label masking, asserted token by token for both families."""

from __future__ import annotations

import pandas as pd
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, processors
from transformers import PreTrainedTokenizerFast

from lamini_lm.pipelines.training.tiny import train_bpe_tokenizer
from lamini_lm.pipelines.training.tokenize import (
    IGNORE_INDEX,
    RESPONSE_SEPARATOR,
    encode_causal,
    encode_seq2seq,
    example_length,
    tokenize_frame,
    tokenizer_fingerprint,
)
from lamini_lm.prompting import CAUSAL_WRAPPER

INSTRUCTION = "Name two colours."
RESPONSE = "Red and blue."


def word_tokenizer(words: list[str], eos_suffix: bool = False) -> PreTrainedTokenizerFast:
    """One id per whitespace-separated word: expected ids can be written down by hand."""
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for word in words:
        vocab.setdefault(word, len(vocab))
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    if eos_suffix:
        backend.post_processor = processors.TemplateProcessing(single="$A </s>", special_tokens=[("</s>", 1)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


@pytest.fixture
def words_tokenizer():
    prompt = CAUSAL_WRAPPER.format(instruction=INSTRUCTION)
    return word_tokenizer((prompt + " " + RESPONSE).split())


def ids(tokenizer, text: str) -> list[int]:
    vocab = tokenizer.get_vocab()
    return [vocab[w] for w in text.split()]


def test_causal_example_is_prompt_response_eos_with_prompt_masked(words_tokenizer):
    prompt = CAUSAL_WRAPPER.format(instruction=INSTRUCTION)
    example = encode_causal(words_tokenizer, INSTRUCTION, RESPONSE, max_length=512)

    prompt_ids, response_ids = ids(words_tokenizer, prompt), ids(words_tokenizer, RESPONSE)
    assert example["input_ids"] == prompt_ids + response_ids + [1]
    assert example["labels"] == [IGNORE_INDEX] * len(prompt_ids) + response_ids + [1]
    # The prompt is the LaMini wrapper, word for word.
    assert words_tokenizer.decode(example["input_ids"][: len(prompt_ids)]) == " ".join(prompt.split())


def char_tokenizer(text: str) -> PreTrainedTokenizerFast:
    """One token per character (no merges, no pre-tokenizer): every id, spaces included, is visible."""
    vocab = {"<pad>": 0, "</s>": 1, "<unk>": 2}
    for char in sorted(set(text)):
        vocab.setdefault(char, len(vocab))
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<unk>"))
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", eos_token="</s>", unk_token="<unk>")


def test_one_space_separates_the_wrapper_and_the_response_and_is_the_first_label():
    """Our choice (the paper does not publish it): ``### Response:`` + " " + response + EOS, token by token."""
    assert RESPONSE_SEPARATOR == " "
    prompt = CAUSAL_WRAPPER.format(instruction=INSTRUCTION)
    tokenizer = char_tokenizer(prompt + " " + RESPONSE)
    vocab = tokenizer.get_vocab()
    example = encode_causal(tokenizer, INSTRUCTION, RESPONSE, max_length=512)

    prompt_ids = [vocab[c] for c in prompt]
    response_ids = [vocab[c] for c in " Red and blue."]  # the separating space is the response's first token
    assert prompt_ids[-13:] == [vocab[c] for c in "### Response:"]
    assert example["input_ids"] == prompt_ids + response_ids + [1]
    assert example["labels"] == [IGNORE_INDEX] * len(prompt_ids) + response_ids + [1]
    assert len(example["input_ids"]) == len(prompt) + 1 + len(RESPONSE) + 1


def test_causal_truncation_keeps_the_first_max_length_tokens(words_tokenizer):
    prompt_len = len(CAUSAL_WRAPPER.format(instruction=INSTRUCTION).split())
    example = encode_causal(words_tokenizer, INSTRUCTION, RESPONSE, max_length=prompt_len + 2)
    assert len(example["input_ids"]) == prompt_len + 2
    assert example["labels"][prompt_len:] == ids(words_tokenizer, "Red and")
    assert example["labels"][:prompt_len] == [IGNORE_INDEX] * prompt_len


def test_seq2seq_maps_instruction_to_response_each_with_eos():
    tokenizer = word_tokenizer((INSTRUCTION + " " + RESPONSE).split(), eos_suffix=True)
    example = encode_seq2seq(tokenizer, INSTRUCTION, RESPONSE, max_length=512)
    assert example["input_ids"] == ids(tokenizer, INSTRUCTION) + [1]
    assert example["labels"] == ids(tokenizer, RESPONSE) + [1]
    short = encode_seq2seq(tokenizer, INSTRUCTION, RESPONSE, max_length=2)
    assert short == {"input_ids": ids(tokenizer, "Name") + [1], "labels": ids(tokenizer, "Red") + [1]}


def test_bpe_causal_labels_decode_to_the_response():
    texts = [CAUSAL_WRAPPER.format(instruction=INSTRUCTION) + " " + RESPONSE] * 20
    tokenizer = train_bpe_tokenizer(texts, vocab_size=300, family="causal")
    example = encode_causal(tokenizer, INSTRUCTION, RESPONSE, max_length=512)
    response = [t for t in example["labels"] if t != IGNORE_INDEX]
    assert tokenizer.decode(response) == " " + RESPONSE + "</s>"
    assert (
        tokenizer.decode(example["input_ids"])
        == CAUSAL_WRAPPER.format(instruction=INSTRUCTION) + " " + RESPONSE + "</s>"
    )


def test_bpe_seq2seq_tokenizer_appends_eos_at_inference_too():
    tokenizer = train_bpe_tokenizer([INSTRUCTION + " " + RESPONSE] * 20, vocab_size=300, family="seq2seq")
    example = encode_seq2seq(tokenizer, INSTRUCTION, RESPONSE, max_length=512)
    # Student.generate calls the tokenizer with its defaults: it must see what training saw.
    assert tokenizer(INSTRUCTION)["input_ids"] == example["input_ids"]
    assert example["labels"][-1] == tokenizer.eos_token_id


def test_tokenize_frame_drops_rows_without_response_tokens_and_records_fingerprint(words_tokenizer):
    prompt_len = len(CAUSAL_WRAPPER.format(instruction=INSTRUCTION).split())
    frame = pd.DataFrame(
        {"instruction": [INSTRUCTION, INSTRUCTION + " " + "x " * 10], "response": [RESPONSE, RESPONSE]}
    )
    table, dropped = tokenize_frame(frame, words_tokenizer, "causal", max_length=prompt_len + 4)
    assert dropped == 1 and len(table) == 1
    assert table["length"].tolist() == [prompt_len + 4]
    assert set(table["tokenizer_fingerprint"]) == {tokenizer_fingerprint(words_tokenizer)}
    assert set(table["max_length"]) == {prompt_len + 4}


def test_fingerprint_changes_with_the_vocabulary(words_tokenizer):
    other = word_tokenizer(["something", "else"])
    assert tokenizer_fingerprint(words_tokenizer) != tokenizer_fingerprint(other)


def test_example_length_counts_encoder_and_decoder_tokens():
    assert example_length({"input_ids": [5] * 30, "labels": [5] * 3}, "seq2seq") == 33
    assert example_length({"input_ids": [5] * 7, "labels": [5] * 7}, "causal") == 7
