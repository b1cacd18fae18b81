"""Distinct-n: distinct word n-grams / all word n-grams of a set of texts (lexical diversity)."""

from __future__ import annotations

import re

import datasets
import evaluate

_CITATION = """\
@inproceedings{li-etal-2016-diversity,
    title = "A Diversity-Promoting Objective Function for Neural Conversation Models",
    author = "Li, Jiwei and Galley, Michel and Brockett, Chris and Gao, Jianfeng and Dolan, Bill",
    booktitle = "Proceedings of the 2016 Conference of the North {A}merican Chapter of the Association for Computational Linguistics: Human Language Technologies",
    year = "2016",
    address = "San Diego, California",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/N16-1014",
    pages = "110--119",
}
"""

_DESCRIPTION = """\
Distinct-n (Li et al., 2016): the number of distinct word n-grams divided by the number of all word
n-grams, over every text of the set. Words are the lower-cased `\\w+` runs of each text; an n-gram never
spans two texts. The ratio falls as the set grows, so compare sets of equal size (the LaMini-LM
project computes it on an equal-size sample of instructions per source; our addition to the paper's
diversity analysis).
"""

_KWARGS_DESCRIPTION = """
Args:
    data (list of str): the texts.
    max_n (int): n-gram orders 1 .. max_n (default 2).
Returns:
    distinct_<n> (float) for each n: in (0, 1]; NaN when no text has n words.
Examples:
    >>> distinct = evaluate.load("src/lamini_lm/metrics/distinct_n")
    >>> distinct.compute(data=["a b a", "a b"], max_n=2)
    {'distinct_1': 0.4, 'distinct_2': 0.6666666666666666}
"""

_WORD = re.compile(r"\w+")


def distinct_ratio(texts_words: list[list[str]], n: int) -> float:
    """Distinct n-grams / all n-grams over the words of each text (an n-gram never spans two texts)."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for words in texts_words:
        grams = list(zip(*(words[i:] for i in range(n))))
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else float("nan")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class DistinctN(evaluate.Measurement):
    def _info(self) -> evaluate.MeasurementInfo:
        return evaluate.MeasurementInfo(
            module_type="measurement",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"data": datasets.Value("string")}),
            reference_urls=["https://aclanthology.org/N16-1014"],
        )

    def _compute(self, data: list[str], max_n: int = 2) -> dict[str, float]:
        if max_n < 1:
            raise ValueError(f"distinct_n: max_n must be at least 1; got {max_n}.")
        words = [_WORD.findall(text.lower()) for text in data]  # once for every order
        return {f"distinct_{n}": distinct_ratio(words, n) for n in range(1, max_n + 1)}
