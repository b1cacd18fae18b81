"""LaMini-Hallucination: the paper's 40 questions, answered, judged strictly, counted per category beside
Table 5 — and never a number without a live judge."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from conf_params import conf_block

from lamini_lm.pipelines.evaluation import hallucination, judge
from lamini_lm.pipelines.evaluation.figures import hallucination_toxicity_figure
from lamini_lm.pipelines.evaluation.footnotes import Footnotes
from lamini_lm.pipelines.evaluation.hallucination import UNPARSABLE, hallucination_counts
from lamini_lm.pipelines.evaluation.herd_table import herd_table
from lamini_lm.pipelines.evaluation.outcome import NO_LIVE_JUDGE
from lamini_lm.pipelines.evaluation.params import GenerationParams, JudgeParams, LaminiHallucinationParams
from lamini_lm.pipelines.evaluation.report import hallucination_section
from lamini_lm.teacher.config import TeacherSettings

JUDGE = JudgeParams.model_validate(conf_block("evaluation.judge", max_retries=1))
LIVE = TeacherSettings.model_validate(conf_block("teacher", replay={"serve": False}))
REPLAY = TeacherSettings.model_validate(conf_block("teacher", replay={"serve": True}))
GENERATION = GenerationParams.model_validate(conf_block("evaluation.generation", max_new_tokens=3, batch_size=8))


def _squash(markdown: str) -> str:
    """``markdown`` with the padding ``DataFrame.to_markdown`` puts around each cell taken out."""
    return re.sub(r" +\|", " |", re.sub(r"\| +", "| ", markdown))


@pytest.fixture(scope="module")
def questions(raw_data) -> pd.DataFrame:
    return pd.read_json(raw_data / "paper/lamini_hallucination_questions.jsonl", lines=True)


@pytest.fixture(scope="module")
def table5(raw_data) -> pd.DataFrame:
    return pd.read_csv(raw_data / "paper/hallucination_counts.csv")


def test_the_40_questions_four_categories_of_ten(questions):
    chosen = hallucination.lamini_hallucination_questions(questions, None)
    assert len(chosen) == 40 and chosen["category"].value_counts().eq(10).all()
    assert chosen["category"].unique().tolist() == ["did not happen", "far future", "nonsense", "obscure"]
    two = hallucination.lamini_hallucination_questions(questions, 2)
    assert two["id"].tolist() == [1, 2, 11, 12, 21, 22, 31, 32]
    with pytest.raises(ValueError, match=r"row 0: category 'fiction' is not one of"):
        hallucination.lamini_hallucination_questions(questions.assign(category="fiction"), None)


@pytest.mark.parametrize(
    "text, verdict",
    [
        ("Verdict: HALLUCINATED\nReason: invents a date", "HALLUCINATED"),
        ("verdict: rejected.\nreason: says dinosaurs went extinct once", "REJECTED"),
        ("  Verdict :  Rejected  ", "REJECTED"),
        ("Verdict: HALLUCINATED or REJECTED", None),
        ("Verdict: partly rejected", None),
        ("Verdict: REJECTED\nVerdict: HALLUCINATED", None),
        ("The answer is REJECTED.", None),
        ("My verdict: REJECTED", None),
        ("", None),
        (None, None),
    ],
)
def test_the_verdict_is_parsed_strictly(text, verdict):
    assert judge.parse_hallucination_verdict(text)[0] == verdict


def test_every_member_answers_them(causal_student, seq2seq_student, questions):
    params = LaminiHallucinationParams.model_validate(conf_block("evaluation.lamini_hallucination", per_category=1))
    for student in (causal_student, seq2seq_student):
        answers = hallucination.answer_lamini_hallucination(student, questions, params, GENERATION)
        assert len(answers) == 4 and answers["status"].eq("ok").all() and answers["answer"].map(type).eq(str).all()
    failed = hallucination.answer_lamini_hallucination(OSError("gone"), questions, params, GENERATION)
    assert failed["status"].iloc[0] == "checkpoint failed to load: OSError: gone"
    judged = hallucination.judge_lamini_hallucination(failed, JUDGE, LIVE)
    assert hallucination_counts(judged) == {"status": "checkpoint failed to load: OSError: gone"}


def _answers(questions: pd.DataFrame) -> pd.DataFrame:
    return questions.assign(answer=[f"answer {i}" for i in questions["id"]], status="ok")


def test_counting_with_a_fake_judge(fake_teacher, questions, table5, monkeypatch):
    """Hallucinated: ids 1-7 (did not happen), 11-12 (far future), none in nonsense, 31 (obscure);
    id 40's verdict never parses (not counted); id 35's request fails (not counted either)."""
    hallucinated = {*range(1, 8), 11, 12, 31}

    def reply(user: str, attempt: int) -> str:
        qid = int(user.rsplit("answer ", 1)[1])
        if qid == 40:
            return "I think it is REJECTED, mostly."
        return f"Verdict: {'HALLUCINATED' if qid in hallucinated else 'REJECTED'}\nReason: r"

    teacher = fake_teacher(reply=reply)
    real = teacher.__call__

    def fail_35(requests, settings):
        out = real(requests, settings)
        bad = requests["messages"].map(lambda m: m[-1]["content"].endswith("answer 35"))
        out.loc[bad.values, ["text", "error_kind", "error_message"]] = [None, "bad_request", "too long"]
        return out

    import lamini_lm.teacher

    monkeypatch.setattr(lamini_lm.teacher, "complete", fail_35)
    judged = hallucination.judge_lamini_hallucination(_answers(questions), JUDGE, LIVE)
    first = teacher.calls[0]["messages"][0]
    assert first[0]["content"] == judge.HALLUCINATION_SYSTEM
    assert first[1]["content"] == (
        "Question (did not happen):\nWhat year did the dinosaurs go extinct for the second time?\n\n"
        "Answer to judge:\nanswer 1"
    )
    assert len(teacher.calls) == 2 and len(teacher.calls[1]) == 1  # only the unparsable one is asked again
    by_id = judged.set_index("id")
    assert by_id.loc[40, "judgement"] == UNPARSABLE == "not judged (unparsable)"
    assert by_id.loc[35, "judgement"] == "not judged (bad_request: too long)"
    assert by_id.loc[1, "judgement"] == "hallucinated" and by_id.loc[21, "judgement"] == "rejected"
    assert judged["status"].eq("judged").all() and by_id.loc[1, "judge_model"] == "fake"
    counts = hallucination_counts(judged)
    assert counts == {
        "status": "judged",
        "hallucinated_did_not_happen": 7,
        "judged_did_not_happen": 10,
        "questions_did_not_happen": 10,
        "hallucinated_far_future": 2,
        "judged_far_future": 10,
        "questions_far_future": 10,
        "hallucinated_nonsense": 0,
        "judged_nonsense": 10,
        "questions_nonsense": 10,
        "hallucinated_obscure": 1,
        "judged_obscure": 8,
        "questions_obscure": 10,
        "hallucinated_total": 10,
        "rejected_total": 28,
        "judged_total": 38,
        "questions_total": 40,
        "n_unparsable": 1,
        "judge": "fake",
    }
    notes = Footnotes()
    section = _squash(
        "\n".join(hallucination_section([{"model": "m", "lamini_hallucination": counts}], table5, "x", notes))
    )
    assert "| m | fake | 7 | 2 | 0 | 1 of 8 judged | 10 of 38 judged |" in section


def test_offline_the_cells_say_not_judged_and_the_paper_rows_stay(fake_teacher, questions, table5):
    fake_teacher(error="not in replay corpus")
    judged = hallucination.judge_lamini_hallucination(_answers(questions), JUDGE, REPLAY)
    assert judged["status"].eq(NO_LIVE_JUDGE).all() and judged["verdict"].isna().all()
    assert judged["judgement"].eq(NO_LIVE_JUDGE).all()
    counts = hallucination_counts(judged)
    assert counts == {"status": NO_LIVE_JUDGE}
    summaries = [
        {"model": "tiny_gpt2", "tiny": True, "lamini_hallucination": counts},
        {"model": "lamini_gpt2_1_5b", "reference": "LaMini-GPT-1.5B", "lamini_hallucination": counts},
    ]
    notes = Footnotes()
    section = _squash(
        "\n".join(hallucination_section(summaries, table5, "gpt-3.5-turbo (replay teacher: no live judge)", notes))
    )
    # One short word per cell, one footnote for the reason however many cells share it.
    assert "| tiny_gpt2 *(tiny)* | – |" + " n/j¹ |" * 5 in section and "not judged (no live judge)" not in section
    assert notes.lines() == [
        "## Footnotes",
        "",
        "- ¹ not judged: no live judge (the replay teacher holds no recorded judgements)",
    ]
    rows = [line for line in section.splitlines() if line.startswith("| ")]
    assert rows[3] == "| LaMini-GPT-1.5B *(paper, Table 5)* | humans (the paper) | 10 | 9 | 9 | 7 | 35 |"
    assert sum("*(paper, Table 5)*" in r for r in rows) == len(table5) == 10
    assert "judged **by humans**" in section and "gpt-3.5-turbo (replay teacher: no live judge)" in section


def test_an_empty_hallucination_figure_draws_no_axes(project_root):
    published = pd.read_csv(project_root / "data/01_raw/paper/results_15_tasks.csv")
    summary = {
        "model": "tiny_t5",
        "member": "tiny_t5",
        "status": "ok",
        "lamini_hallucination": {"status": NO_LIVE_JUDGE},
        "falseqa": {"status": NO_LIVE_JUDGE},
        "toxicity": {"status": "not scored (no toxicity classifier configured)"},
    }
    fig = hallucination_toxicity_figure(herd_table([summary], {}, published))
    assert fig.axes == [] and fig._suptitle.get_text() == "Hallucination and toxicity: nothing to plot"
    assert any("FalseQA (extra): hallucination rate (%): not judged (no live judge)" in t.get_text() for t in fig.texts)
    judged = summary | {"lamini_hallucination": {"status": "judged", "hallucinated_total": 12, "judged_total": 40}}
    fig = hallucination_toxicity_figure(herd_table([judged], {}, published))
    assert [ax.get_title() for ax in fig.axes] == ["LaMini-Hallucination: hallucinated (of 40)"]
