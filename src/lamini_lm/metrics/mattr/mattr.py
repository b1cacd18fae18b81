"""MATTR: the moving-average type-token ratio of a set of texts (lexical diversity, EACL Table 2)."""

from __future__ import annotations

import re
from collections import Counter

import datasets
import evaluate

_CITATION = """\
@article{covington-mcfall-2010-mattr,
    title = "Cutting the {G}ordian Knot: The Moving-Average Type-Token Ratio ({MATTR})",
    author = "Covington, Michael A. and McFall, Joe D.",
    journal = "Journal of Quantitative Linguistics",
    volume = "17",
    number = "2",
    pages = "94--100",
    year = "2010",
    doi = "10.1080/09296171003643098",
}
@inproceedings{wu-etal-2024-lamini,
    title = "{L}a{M}ini-{LM}: A Diverse Herd of Distilled Models from Large-Scale Instructions",
    author = "Wu, Minghao and Waheed, Abdul and Zhang, Chiyu and Abdul-Mageed, Muhammad and Aji, Alham Fikri",
    booktitle = "Proceedings of the 18th Conference of the European Chapter of the Association for Computational Linguistics (Volume 1: Long Papers)",
    year = "2024",
    url = "https://aclanthology.org/2024.eacl-long.57",
    pages = "944--964",
}
"""

_DESCRIPTION = """\
Moving-average type-token ratio (Covington & McFall, 2010): the mean, over every run of `window`
consecutive words, of distinct words / `window`. Unlike the plain type-token ratio it does not fall
as the text grows. Words are the lower-cased `\\w+` runs of the texts, read one after another (the
LaMini-LM paper reports MATTR with a window of 50 per subset, EACL Table 2, without saying how it
joined texts: this reading is ours). A word sequence no longer than the window gives its plain
type-token ratio, an empty one NaN. O(words).
"""

_KWARGS_DESCRIPTION = """
Args:
    data (list of str): the texts.
    window (int): words per window (default 50, the paper's).
Returns:
    mattr (float): in (0, 1]; NaN when the texts hold no word.
Examples:
    >>> mattr = evaluate.load("src/lamini_lm/metrics/mattr")
    >>> mattr.compute(data=["A b.", "a c, b"], window=3)
    {'mattr': 0.8888888888888888}
"""

_WORD = re.compile(r"\w+")


def words_of(texts: list[str]) -> list[str]:
    """The lower-cased ``\\w+`` words of ``texts``, one text after another."""
    words: list[str] = []
    for text in texts:
        words.extend(_WORD.findall(text.lower()))
    return words


def moving_average_ttr(tokens: list[str], window: int) -> float:
    """MATTR of a token sequence, with a running count of distinct tokens: O(n)."""
    n = len(tokens)
    if n == 0:
        return float("nan")
    if n <= window:
        return len(set(tokens)) / n
    counts = Counter(tokens[:window])
    distinct = len(counts)
    total = distinct
    for leaving, entering in zip(tokens, tokens[window:]):
        counts[leaving] -= 1
        if counts[leaving] == 0:
            distinct -= 1
        if counts[entering] == 0:
            distinct += 1
        counts[entering] += 1
        total += distinct
    return total / ((n - window + 1) * window)


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Mattr(evaluate.Measurement):
    def _info(self) -> evaluate.MeasurementInfo:
        return evaluate.MeasurementInfo(
            module_type="measurement",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"data": datasets.Value("string")}),
            reference_urls=["https://doi.org/10.1080/09296171003643098", "https://aclanthology.org/2024.eacl-long.57"],
        )

    def _compute(self, data: list[str], window: int = 50) -> dict[str, float]:
        if window < 1:
            raise ValueError(f"mattr: window must be at least 1; got {window}.")
        return {"mattr": moving_average_ttr(words_of(data), window)}
