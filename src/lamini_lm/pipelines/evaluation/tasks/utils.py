"""Document processing for the LaMini task YAMLs (referenced as ``!function utils.<name>``).

lm-eval imports this file from the task directory, so it depends on the standard library and numpy only.

Two sources, each function says which:

- **lm-eval 0.4.13** (``prompt_version: lm_eval_0_4``): the same logic as the installed
  ``lm_eval/tasks/<task>/…`` helpers, so our task files build lm-eval's requests byte for byte
  (tests/pipelines/evaluation/test_prompt_parity.py checks them against lm-eval's own YAMLs).
- **the April-2023 harness** (``prompt_version: paper_2023``): lm-eval v0.3.0 as the paper ran it, in the
  authors' fork (github.com/afaji/lm-evaluation-harness @ 2e5dac4, "add prompt wrapper"), ``lm_eval/tasks/*.py``.
"""

from __future__ import annotations

import ast
import re
import string
from collections import Counter

import numpy as np

# --------------------------------------------------------------------------- HellaSwag (lm-eval 0.4.13)


def _hellaswag_preprocess(text: str) -> str:
    """lm_eval/tasks/hellaswag/utils.py ``preprocess`` (v0.3's ``HellaSwag.preprocess`` is the same)."""
    text = text.strip()
    text = text.replace(" [title]", ". ")  # brackets are artifacts of HellaSwag's WikiHow half
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag_process_docs(dataset):
    """lm_eval/tasks/hellaswag/utils.py ``process_docs``: Hub rows → ``query``, ``choices``, ``gold``."""

    def _process(doc: dict) -> dict:
        ctx = doc["ctx_a"] + " " + doc["ctx_b"].capitalize()
        return {
            "query": _hellaswag_preprocess(doc["activity_label"] + ": " + ctx),
            "choices": [_hellaswag_preprocess(ending) for ending in doc["endings"]],
            "gold": int(doc["label"]),
        }

    return dataset.map(_process)


# --------------------------------------------------------------------------- WinoGrande (lm-eval 0.4.13 = v0.3)


def winogrande_doc_to_text(doc: dict) -> int:
    """lm_eval/tasks/winogrande/preprocess_winogrande.py: partial scoring, the gold option's index."""
    return {"1": 0, "2": 1}[doc["answer"]]


def winogrande_doc_to_target(doc: dict) -> str:
    """The sentence after the blank: the continuation scored after each option."""
    return doc["sentence"][doc["sentence"].index("_") + 1 :].strip()


def winogrande_doc_to_choice(doc: dict) -> list[str]:
    """The sentence up to the blank, completed by each option: the contexts."""
    idx = doc["sentence"].index("_")
    return [doc["sentence"][:idx] + option for option in (doc["option1"], doc["option2"])]


# --------------------------------------------------------------------------- WSC273 (lm-eval 0.4.13 = v0.3)

_UPPER_PRONOUNS = ["A", "An", "The", "She", "He", "It", "They", "My", "His", "Her", "Their"]


def _wsc_option(doc: dict, option: str) -> str:
    """lm_eval/tasks/wsc273/utils.py ``__normalize_option`` (v0.3 wsc273.py is the same), quirks included:
    ``text[pronoun_loc - 2]`` wraps round for a pronoun at the start, and every occurrence of the first
    word is lower-cased."""
    if doc["pronoun"].lower() in ["my", "his", "her", "our", "their"]:
        option += "'s"  # possessive pronoun: the option becomes a possessive too
    pronoun = option.split()[0]
    start_of_sentence = doc["text"][doc["pronoun_loc"] - 2] == "."
    if not start_of_sentence and pronoun in _UPPER_PRONOUNS:
        return option.replace(pronoun, pronoun.lower())
    return option


def wsc273_process_docs(dataset):
    """lm_eval/tasks/wsc273/utils.py ``process_doc``: partial scoring, each option replaces the pronoun."""

    def _process(doc: dict) -> dict:
        doc["text"] = doc["text"].replace("  ", " ")
        doc["options"] = [_wsc_option(doc, option) for option in doc["options"]]
        return doc

    return dataset.map(_process)


# --------------------------------------------------------------------------- RACE

_LETTER = {"A": 0, "B": 1, "C": 2, "D": 3}


def _race_problems(doc: dict) -> list[dict]:
    """The article's questions, in order. Our documents hold a list; lm-eval's EleutherAI/race a repr string."""
    problems = doc["problems"]
    return ast.literal_eval(problems) if isinstance(problems, str) else list(problems)


def _race_answer(problem: dict) -> str:
    return problem["options"][_LETTER[problem["answer"]]]


def race_doc_to_text(doc: dict) -> str:
    """lm_eval/tasks/race/preprocess_race.py ``doc_to_text``: the article, its earlier questions answered,
    then the last question (a fill-in-the-blank question ``…  _  .`` is completed in place)."""
    problems = _race_problems(doc)
    text = "Article: " + doc["article"] + "\n\n"
    for problem in problems[:-1]:
        if problem["question"][-6:] == "  _  .":
            text += problem["question"][:-5] + _race_answer(problem) + "\n"
        else:
            text += "Question: " + problem["question"] + "\n" + "Answer: " + _race_answer(problem) + "\n"
    return text + problems[-1]["question"]


def race_doc_to_text_paper_2023(doc: dict) -> str:
    """v0.3 race.py ``RACE.doc_to_text``: as 0.4.13 except that an earlier fill-in-the-blank question keeps
    only its last five characters (``question[-5:]``, i.e. `` _  .``) before the answer — v0.3's slice, which
    lm-eval 0.4 later turned into ``question[:-5]``."""
    problems = _race_problems(doc)
    text = "Article: " + doc["article"] + "\n\n"
    for problem in problems[:-1]:
        if problem["question"][-6:] == "  _  .":
            text += problem["question"][-5:] + _race_answer(problem) + "\n"
        else:
            text += "Question: " + problem["question"] + "\n" + "Answer: " + _race_answer(problem) + "\n"
    return text + problems[-1]["question"]


def race_doc_to_choice(doc: dict) -> list[str]:
    """lm_eval/tasks/race/preprocess_race.py ``doc_to_choice``: the last question's four options."""
    return [_race_problems(doc)[-1]["options"][i] for i in range(4)]


def race_doc_to_target(doc: dict) -> int:
    """lm_eval/tasks/race/preprocess_race.py ``doc_to_target``: the last question's answer index."""
    return _LETTER[_race_problems(doc)[-1]["answer"]]


# --------------------------------------------------------------------------- ReCoRD (lm-eval 0.4.13 = v0.3)


def record_process_docs(dataset):
    """lm_eval/tasks/super_glue/record/util.py ``process_docs``: entities and answers de-duplicated, sorted."""

    def _process(doc: dict) -> dict:
        return {
            "passage": doc["passage"],
            "query": doc["query"],
            "entities": sorted(set(doc["entities"])),
            "answers": sorted(set(doc["answers"])),
        }

    return dataset.map(_process)


def record_doc_to_text(doc: dict) -> str:
    """lm_eval/tasks/super_glue/record/util.py ``doc_to_text``: the passage, then its highlights as a list."""
    initial_text, *highlights = doc["passage"].strip().split("\n@highlight\n")
    text = initial_text + "\n\n"
    for highlight in highlights:
        text += f"  - {highlight}.\n"
    return text


def _record_answer(query: str, entity: str) -> str:
    return f"  - {query}".replace("@placeholder", entity)


def record_doc_to_target(doc: dict) -> str:
    """lm_eval/tasks/super_glue/record/util.py ``doc_to_target``: the query with the first gold entity."""
    return _record_answer(doc["query"], doc["answers"][0])


def record_doc_to_choice(doc: dict) -> list[str]:
    """lm_eval/tasks/super_glue/record/util.py ``doc_to_choice``: the query with each candidate entity."""
    return [_record_answer(doc["query"], entity) for entity in doc["entities"]]


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
    """ReCoRD: the most likely entity, scored by token F1 / exact match against any gold answer (SQuAD's
    normalisation, as lm-eval's ``squad_metrics``; written here so this file needs no transformers)."""
    best = int(np.argmax([result[0] for result in results]))
    prediction = doc["entities"][best]
    return {
        "f1": max(_token_f1(prediction, gold) for gold in doc["answers"]),
        "em": float(max(_normalise_answer(prediction) == _normalise_answer(g) for g in doc["answers"])),
    }


# --------------------------------------------------------------------------- TruthfulQA


def truthfulqa_mc2_process_results(doc: dict, results: list) -> dict:
    """MC2: normalised probability mass on the true answers (lm_eval/tasks/truthfulqa/utils.py
    ``process_results_mc2``, with the log-likelihoods shifted by their maximum before ``exp`` so that long
    answers cannot underflow to 0/0)."""
    loglikelihoods = np.array([result[0] for result in results], dtype=float)
    probs = np.exp(loglikelihoods - loglikelihoods.max())
    probs = probs / probs.sum()
    labels = np.array(doc["mc2_targets"]["labels"])
    return {"acc": float(probs[labels == 1].sum())}


# --------------------------------------------------------------------------- the April-2023 harness only


def detokenize(text: str) -> str:
    """v0.3 lm_eval/utils.py ``general_detokenize``: undo PTB-style spacing (``do n't`` → ``don't``, ``( a )`` →
    ``(a)``, `` ,`` → ``,``). lm-eval 0.4 no longer applies it to SST-2 and MRPC."""
    text = text.replace(" n't", "n't")
    text = text.replace(" )", ")")
    text = text.replace("( ", "(")
    text = text.replace('" ', '"')
    text = text.replace(' "', '"')
    return re.sub(r" (['.,])", r"\1", text)


def sst2_doc_to_text_paper_2023(doc: dict) -> str:
    """v0.3 glue.py ``SST.doc_to_text``: the detokenised sentence."""
    return "{}\nQuestion: Is this sentence positive or negative?\nAnswer:".format(detokenize(doc["sentence"]))


def mrpc_doc_to_text_paper_2023(doc: dict) -> str:
    """v0.3 glue.py ``MRPC.doc_to_text``: both sentences detokenised."""
    return "Sentence 1: {}\nSentence 2: {}\nQuestion: Do both sentences mean the same thing?\nAnswer:".format(
        detokenize(doc["sentence1"]), detokenize(doc["sentence2"])
    )


def sciq_doc_to_text_paper_2023(doc: dict) -> str:
    """v0.3 sciq.py ``SciQ.doc_to_text``: the whole context stripped, so an empty support leaves no leading
    newline (0.4.13 strips only the support's start: ``\\nQuestion: …``)."""
    return "{}\nQuestion: {}\nAnswer:".format(doc["support"], doc["question"]).strip()
