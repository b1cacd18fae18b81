"""ROUGE-L fidelity: how closely a student's answers follow its teacher's, as ROUGE-L F1."""

from __future__ import annotations

import datasets
import evaluate

_CITATION = """\
@inproceedings{lin-2004-rouge,
    title = "{ROUGE}: A Package for Automatic Evaluation of Summaries",
    author = "Lin, Chin-Yew",
    booktitle = "Text Summarization Branches Out",
    year = "2004",
    address = "Barcelona, Spain",
    publisher = "Association for Computational Linguistics",
    url = "https://aclanthology.org/W04-1013",
    pages = "74--81",
}
"""

_DESCRIPTION = """\
ROUGE-L F1 of each prediction (a student's greedy answer) against its reference (the teacher's answer
to the same instruction), with Porter stemming, from the `rouge-score` package: the longest common
subsequence of the two token sequences, as the harmonic mean of its share of each. 1.0 means the
student repeats the teacher word for word; 0.0 that they share no word. The LaMini-LM project uses it
to measure distillation fidelity on held-out pairs (our measure: the paper does not report it).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): the student's answers.
    references (list of str): the teacher's answers, one per prediction.
    use_stemmer (bool): Porter-stem tokens first (default True).
    use_aggregator (bool): True (default): the mean over all pairs; False: one score per pair.
Returns:
    rougeL: the mean F1 (float, NaN without pairs), or the list of F1 per pair.
Examples:
    >>> rouge = evaluate.load("src/lamini_lm/metrics/rouge_l_fidelity")
    >>> rouge.compute(predictions=["the cat sat", "dog"], references=["the cat sat", "the cat sat"])
    {'rougeL': 0.5}
"""


def rouge_l_f1(predictions: list[str], references: list[str], use_stemmer: bool = True) -> list[float]:
    """ROUGE-L F1 of each prediction against its reference (``rouge_score``'s tokenizer)."""
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rougeL"], use_stemmer=use_stemmer)
    return [scorer.score(ref, pred)["rougeL"].fmeasure for pred, ref in zip(predictions, references)]


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class RougeLFidelity(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            codebase_urls=["https://github.com/google-research/google-research/tree/master/rouge"],
            reference_urls=["https://aclanthology.org/W04-1013"],
        )

    def _compute(
        self, predictions: list[str], references: list[str], use_stemmer: bool = True, use_aggregator: bool = True
    ) -> dict[str, float | list[float]]:
        scores = rouge_l_f1(predictions, references, use_stemmer)
        if not use_aggregator:
            return {"rougeL": scores}
        return {"rougeL": sum(scores) / len(scores) if scores else float("nan")}
