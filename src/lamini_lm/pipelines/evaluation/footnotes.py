"""Footnotes for the herd report: a cell without a value says why in one short word and a numbered mark,
and each reason is written out once, under the report, however many cells share it."""

from __future__ import annotations

from lamini_lm.pipelines.evaluation.outcome import NO_LIVE_JUDGE, UNPARSABLE, Status

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")
INDICATIVE = "†"

# The short word a cell shows for each status (the footnote gives the whole reason).
_WORDS = {
    NO_LIVE_JUDGE: "n/j",
    UNPARSABLE: "unparsed",
    Status.NO_DATA: "no data",
    Status.SKIPPED: "skipped",
    Status.ERROR: "error",
    Status.NO_ROWS: "no rows",
    Status.NOT_SCORED: "n/s",
    Status.NOT_JUDGED: "n/j",
    Status.CHECKPOINT_FAILED: "failed",
    Status.NOT_A_STUDENT: "failed",
    Status.GENERATION_FAILED: "failed",
}


def short_word(reason: str) -> str:
    """One short word for ``reason`` (a status text): ``n/j`` for *not judged (no live judge)*, ``withheld``
    for a judge that failed its check, ``unparsed`` for *not judged (unparsable)*, ``—`` for anything else."""
    if reason in _WORDS:
        return _WORDS[reason]
    if reason.startswith("judge failed its check"):
        return "withheld"
    status = Status.of(reason)
    if status != Status.ERROR or reason.startswith(Status.ERROR.value):
        return _WORDS[status] if status in _WORDS else status.value
    head = reason.split(" (", maxsplit=1)[0].split(":", maxsplit=1)[0]
    return head if len(head) <= 12 else "—"


# What a bare status means, as its footnote says it.
_EXPLAINED = {
    NO_LIVE_JUDGE: "not judged: no live judge (the replay teacher holds no recorded judgements)",
    UNPARSABLE: "not judged: the judge's replies did not parse, even after its retries (`judge.max_retries`)",
    Status.NO_DATA.value: "no data: the benchmark has no copy in this environment, so it is not scored",
}


class Footnotes:
    """Numbered footnotes, one per distinct text, in the order first used."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}
        self._indicative: str | None = None

    def indicative(self, min_docs: int) -> str:
        """The dagger of a cell scored on fewer than ``min_docs`` documents (its footnote written once)."""
        self._indicative = (
            f"{INDICATIVE} indicative only: scored on fewer than {min_docs} documents (`evaluation.report.min_docs`)."
        )
        return INDICATIVE

    def mark(self, text: str) -> str:
        """The superscript number of ``text`` (a new number the first time it is seen)."""
        number = self._numbers.setdefault(text, len(self._numbers) + 1)
        return str(number).translate(_SUPERSCRIPT)

    def cell(self, reason: str) -> str:
        """A cell with no value: its short word and the footnote mark of ``reason``."""
        return short_word(reason) + self.mark(_EXPLAINED.get(reason, reason))

    def lines(self) -> list[str]:
        """The footnotes as markdown lines (empty when none was used)."""
        if not self._numbers and self._indicative is None:
            return []
        marks = [f"{str(n).translate(_SUPERSCRIPT)} {text}" for text, n in self._numbers.items()]
        return ["## Footnotes", "", *(f"- {m}" for m in [*([self._indicative] if self._indicative else []), *marks])]
