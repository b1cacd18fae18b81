"""Judge agreement: how well an LLM judge's A–D grades match answers whose right grade is known."""

from __future__ import annotations

import datasets
import evaluate

_CITATION = """\
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
A judge grades answers on the LaMini-LM paper's human-evaluation rubric (EACL 2024 Appendix C: A valid,
B minor errors, C significant errors, D invalid). This module scores the judge against known answers:
- a reference `good` or `bad`: the judge is right when it grades a good answer A/B and a bad one C/D.
  `accuracy` counts an ungraded item (prediction `""`: the judge's reply did not parse) as wrong;
  `accuracy_graded` is over the graded items only.
- a reference grade `A`–`D` (e.g. the paper's human-rated examples): `exact_agreement` is the share of
  graded items with the same grade, `within_one_agreement` the share at most one grade apart.
Both kinds may be mixed in one call. The paper's raters were people; an LLM judge is our stand-in.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (list of str): the judge's grade per item, `A`-`D`, or `""` when it gave none (evaluate
        checks the type of the first value, so a missing grade is an empty string, not None).
    references (list of str): `good`, `bad`, or the known grade `A`-`D`, per item.
Returns:
    accuracy (float or None): right good/bad calls / good-bad items (None without such items).
    accuracy_graded (float or None): right good/bad calls / graded good-bad items.
    n_items (int): good-bad items; n_ungraded (int): those the judge did not grade.
    exact_agreement, within_one_agreement (float or None): over graded items with a known grade.
    n_graded_references (int): graded items with a known grade.
Examples:
    >>> agreement = evaluate.load("src/lamini_lm/metrics/judge_agreement")
    >>> agreement.compute(predictions=["A", "A", "", "B"], references=["good", "bad", "bad", "C"])["accuracy"]
    0.3333333333333333
"""

GRADES = ("A", "B", "C", "D")
GOOD_GRADES = ("A", "B")
GOOD, BAD = "good", "bad"


def _share(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class JudgeAgreement(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        return evaluate.MetricInfo(
            module_type="metric",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(
                {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
            ),
            reference_urls=["https://aclanthology.org/2024.eacl-long.57"],
        )

    def _compute(self, predictions: list[str | None], references: list[str]) -> dict[str, float | int | None]:
        predictions = [grade or None for grade in predictions]
        for index, (grade, reference) in enumerate(zip(predictions, references)):
            if grade is not None and grade not in GRADES:
                raise ValueError(
                    f"judge_agreement: prediction {index} is {grade!r}; expected A, B, C, D or '' (no grade)."
                )
            if reference not in (GOOD, BAD) and reference not in GRADES:
                raise ValueError(
                    f"judge_agreement: reference {index} is {reference!r}; expected good, bad or A, B, C, D."
                )
        calls = [(g, r) for g, r in zip(predictions, references) if r in (GOOD, BAD)]
        right = [g is not None and (GOOD if g in GOOD_GRADES else BAD) == r for g, r in calls]
        graded_right = [hit for hit, (g, _) in zip(right, calls) if g is not None]
        distance = [
            abs(GRADES.index(g) - GRADES.index(r))
            for g, r in zip(predictions, references)
            if r in GRADES and g is not None
        ]
        return {
            "accuracy": _share(right),
            "accuracy_graded": _share(graded_right),
            "n_items": len(calls),
            "n_ungraded": len(calls) - len(graded_right),
            "exact_agreement": _share([d == 0 for d in distance]),
            "within_one_agreement": _share([d <= 1 for d in distance]),
            "n_graded_references": len(distance),
        }
