"""Hallucination counts: hallucinated answers per question category (LaMini-Hallucination, EACL Table 5)."""

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
The LaMini-LM paper's hallucination measure (EACL 2024 §6, Table 5): models answer questions with a
false or unanswerable premise (LaMini-Hallucination: 4 categories x 10 questions); each answer is judged
HALLUCINATED (it went along with the premise) or REJECTED (it refused or corrected it); the measure is
the count of hallucinations per category (lower is better). An answer without a verdict (`""`: not
judged, or the judge's reply did not parse) is counted in neither. The paper's judges were people.
"""

_KWARGS_DESCRIPTION = """
Args:
    verdicts (list of str): `HALLUCINATED`, `REJECTED` or `""` (no verdict), one per answer (evaluate
        checks the type of the first value, so a missing verdict is an empty string, not None).
    categories (list of str): each answer's question category.
    category_order (list of str, optional): the categories to report, in this order, also those with no
        answer (default: the categories given, in order of first appearance).
Returns:
    per category (spaces in its name become `_`): hallucinated_<c>, judged_<c> (answers with a verdict),
    questions_<c> (all answers); and hallucinated_total, rejected_total, judged_total, questions_total.
Examples:
    >>> counts = evaluate.load("src/lamini_lm/metrics/hallucination_count")
    >>> counts.compute(verdicts=["HALLUCINATED", "REJECTED", ""], categories=["far future", "far future", "obscure"])
    {'hallucinated_far_future': 1, 'judged_far_future': 2, 'questions_far_future': 2, 'hallucinated_obscure': 0, 'judged_obscure': 0, 'questions_obscure': 1, 'hallucinated_total': 1, 'rejected_total': 1, 'judged_total': 2, 'questions_total': 3}
"""

HALLUCINATED, REJECTED = "HALLUCINATED", "REJECTED"


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class HallucinationCount(evaluate.Measurement):
    def _info(self) -> evaluate.MeasurementInfo:
        return evaluate.MeasurementInfo(
            module_type="measurement",
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features({"verdicts": datasets.Value("string"), "categories": datasets.Value("string")}),
            reference_urls=["https://aclanthology.org/2024.eacl-long.57"],
        )

    def _compute(
        self, verdicts: list[str | None], categories: list[str], category_order: list[str] | None = None
    ) -> dict[str, int]:
        verdicts = [verdict or None for verdict in verdicts]
        for index, verdict in enumerate(verdicts):
            if verdict not in (HALLUCINATED, REJECTED, None):
                raise ValueError(
                    f"hallucination_count: verdict {index} is {verdict!r}; expected HALLUCINATED, REJECTED or '' (no verdict)."
                )
        order = list(category_order) if category_order is not None else list(dict.fromkeys(categories))
        unknown = sorted(set(categories) - set(order))
        if unknown:
            raise ValueError(f"hallucination_count: categories {unknown} are not in category_order {order}.")
        counts: dict[str, int] = {}
        for category in order:
            given = [v for v, c in zip(verdicts, categories) if c == category]
            key = category.replace(" ", "_")
            counts[f"hallucinated_{key}"] = given.count(HALLUCINATED)
            counts[f"judged_{key}"] = sum(v is not None for v in given)
            counts[f"questions_{key}"] = len(given)
        counts |= {
            "hallucinated_total": verdicts.count(HALLUCINATED),
            "rejected_total": verdicts.count(REJECTED),
            "judged_total": sum(v is not None for v in verdicts),
            "questions_total": len(verdicts),
        }
        return counts
