"""Document processing for the LaMini task YAMLs (referenced as ``!function utils.<name>``).

lm-eval imports this file from the task directory, so it depends on numpy and the standard library only.
"""

from __future__ import annotations

import re
import string
from collections import Counter

import numpy as np

_CAPITALISED = {"A", "An", "The", "She", "He", "It", "They", "My", "His", "Her", "Their"}


def _wsc_option(doc: dict, option: str) -> str:
    """Fit a candidate antecedent into the pronoun's slot (possessive ``'s``, lower-case mid-sentence)."""
    if doc["pronoun"].lower() in {"my", "his", "her", "our", "their"}:
        option += "'s"
    first = option.split()[0]
    starts_sentence = doc["pronoun_loc"] < 2 or doc["text"][doc["pronoun_loc"] - 2] == "."
    if not starts_sentence and first in _CAPITALISED:
        return option.replace(first, first.lower(), 1)
    return option


def wsc273_process_docs(dataset):
    """WSC273 for partial scoring: each option replaces the pronoun, the rest of the text is the target."""

    def _process(doc: dict) -> dict:
        doc["options"] = [_wsc_option(doc, option) for option in doc["options"]]
        return doc

    return dataset.map(_process)


def truthfulqa_mc2_process_results(doc: dict, results: list) -> dict:
    """MC2: normalised probability mass on the true answers."""
    loglikelihoods = np.array([result[0] for result in results], dtype=float)
    probs = np.exp(loglikelihoods - loglikelihoods.max())
    probs = probs / probs.sum()
    labels = np.array(doc["mc2_targets"]["labels"])
    return {"acc": float(probs[labels == 1].sum())}


def _normalise_answer(text: str) -> list[str]:
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return text.split()


def _token_f1(prediction: str, gold: str) -> float:
    pred, ref = _normalise_answer(prediction), _normalise_answer(gold)
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def record_process_results(doc: dict, results: list) -> dict:
    """ReCoRD: the most likely entity, scored by token F1 / exact match against any gold answer."""
    best = int(np.argmax([result[0] for result in results]))
    prediction = doc["entities"][best]
    return {
        "f1": max(_token_f1(prediction, gold) for gold in doc["answers"]),
        "em": float(max(_normalise_answer(prediction) == _normalise_answer(g) for g in doc["answers"])),
    }
