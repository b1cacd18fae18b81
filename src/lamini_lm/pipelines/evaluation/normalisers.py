"""Normalisers: a benchmark's raw records (bundled file or Hub split) → its task YAML's documents.

Every task YAML in ``tasks/`` reads documents in the schema of the public Hugging Face dataset the
paper used (``question_stem``/``choices``/``answerKey`` for OpenBookQA, ``sentence``/``label`` for
SST-2, ...). A normaliser turns a bundled file (``conf/base``) or a Hub split (``conf/paper``) into
that schema, so both environments score through the same YAML.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any


def _field(record: dict[str, Any], key: str) -> Any:
    if key not in record:
        raise KeyError(key)
    return record[key]


def _openbookqa(record: dict[str, Any]) -> dict[str, Any]:
    if "question_stem" in record:  # Hub schema
        return {k: record[k] for k in ("question_stem", "choices", "answerKey")}
    pairs = re.findall(r"\(([A-E])\)\s*(.*?)\s*(?=\([A-E]\)|$)", _field(record, "Choices"))
    if not pairs:
        raise ValueError(f"cannot parse choices {record['Choices']!r}")
    return {
        "question_stem": _field(record, "Question Stem"),
        "choices": {"text": [t for _, t in pairs], "label": [label for label, _ in pairs]},
        "answerKey": _field(record, "Answer Key").strip(),
    }


def _arc(record: dict[str, Any]) -> dict[str, Any]:
    question = _field(record, "question")
    if isinstance(question, dict):  # AI2 jsonl
        choices = question["choices"]
        return {
            "question": question["stem"],
            "choices": {"text": [c["text"] for c in choices], "label": [c["label"] for c in choices]},
            "answerKey": _field(record, "answerKey"),
        }
    return {"question": question, "choices": _field(record, "choices"), "answerKey": _field(record, "answerKey")}


def _piqa(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _field(record, k) for k in ("goal", "sol1", "sol2")} | {"label": int(_field(record, "label"))}


def _sst2(record: dict[str, Any]) -> dict[str, Any]:
    # GLUE's sentences end with a space ("... film . "); lm-eval keeps it, so do we.
    sentence = record["sentence"] if "sentence" in record else _field(record, "text_a")
    return {"sentence": sentence, "label": int(_field(record, "label"))}


def _mrpc(record: dict[str, Any]) -> dict[str, Any]:
    if "sentence1" in record:
        return {
            "sentence1": record["sentence1"],
            "sentence2": _field(record, "sentence2"),
            "label": int(record["label"]),
        }
    return {
        "sentence1": _field(record, "#1 String"),
        "sentence2": _field(record, "#2 String"),
        "label": int(_field(record, "Quality")),
    }


def _rte(record: dict[str, Any]) -> dict[str, Any]:
    if "sentence1" in record:  # GLUE: entailment=0, not_entailment=1
        return {
            "sentence1": record["sentence1"],
            "sentence2": _field(record, "sentence2"),
            "label": int(record["label"]),
        }
    label = _field(record, "label")
    labels = {"entailment": 0, "not_entailment": 1}
    if label not in labels:
        raise ValueError(f"label {label!r} is not entailment/not_entailment")
    return {"sentence1": _field(record, "premise"), "sentence2": _field(record, "hypothesis"), "label": labels[label]}


def _mnli(record: dict[str, Any]) -> dict[str, Any]:
    return {k: _field(record, k) for k in ("premise", "hypothesis")} | {"label": int(_field(record, "label"))}


def _wsc273(record: dict[str, Any]) -> dict[str, Any] | None:
    if "pronoun_loc" in record:  # Hub schema (lighteval/winograd_wsc)
        return {k: record[k] for k in ("text", "pronoun", "pronoun_loc", "options", "label")}
    if not record.get("in_wsc273", True):
        return None  # schemas 273-284 are not part of WSC273
    txt1, pronoun, txt2 = _field(record, "txt1"), _field(record, "pronoun"), _field(record, "txt2")
    text = " ".join(part for part in (txt1, pronoun, txt2) if part)
    return {
        "text": text,
        "pronoun": pronoun,
        "pronoun_loc": len(txt1) + 1 if txt1 else 0,
        "options": list(_field(record, "options")),
        "label": int(_field(record, "label")),
    }


def _winogrande(record: dict[str, Any]) -> dict[str, Any]:
    doc = {k: str(_field(record, k)) for k in ("sentence", "option1", "option2", "answer")}
    if "_" not in doc["sentence"]:
        raise ValueError("sentence has no '_' blank")
    if doc["answer"] not in ("1", "2"):
        raise ValueError(f"answer {doc['answer']!r} is not '1' or '2'")
    return doc


def _wic(record: dict[str, Any]) -> dict[str, Any]:
    label = _field(record, "label")
    label = {"true": 1, "false": 0}.get(str(label).lower(), label)
    doc = {k: _field(record, k) for k in ("sentence1", "sentence2", "start1", "end1")}
    return doc | {"label": int(label)}


def _hellaswag_hub(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("activity_label", "ctx_a", "ctx_b", "endings")
    return {k: _field(record, k) for k in keys} | {"label": int(_field(record, "label"))}


def _truthfulqa(record: dict[str, Any]) -> dict[str, Any]:
    if "mc1_targets" in record:  # Hub schema
        return {k: record[k] for k in ("question", "mc1_targets", "mc2_targets")}

    def split(cell: str) -> list[str]:
        return [part.strip() for part in cell.split(";") if part.strip()]

    best = _field(record, "Best Answer").strip()
    correct, incorrect = split(_field(record, "Correct Answers")), split(_field(record, "Incorrect Answers"))
    if not incorrect:
        raise ValueError("no incorrect answers")
    if best not in correct:
        correct = [best, *correct]
    return {
        "question": _field(record, "Question"),
        "mc1_targets": {"choices": [best, *incorrect], "labels": [1] + [0] * len(incorrect)},
        "mc2_targets": {"choices": correct + incorrect, "labels": [1] * len(correct) + [0] * len(incorrect)},
    }


def _sciq(record: dict[str, Any]) -> dict[str, Any]:
    keys = ("question", "distractor1", "distractor2", "distractor3", "correct_answer", "support")
    return {k: _field(record, k) for k in keys}


def race_documents(records: list[dict[str, Any]], source: str | None = None) -> list[dict[str, Any]]:
    """lm-eval v0.3's RACE documents from per-question rows (ehovy/race: article, question, options, answer).

    One document per article, in the order the articles first appear: ``problems`` holds the article's
    questions in row order; the last one is asked, the earlier ones are answered in the context
    (``tasks/utils.py`` ``race_doc_to_text``). Rows are grouped by the article's text, as v0.3's
    ``RACE._collate_data`` does (so RACE-high test's 3,498 questions make 1,045 documents).
    """
    articles: dict[str, dict[str, Any]] = {}
    for row, record in enumerate(records):
        try:
            article = _field(record, "article")
            options = list(_field(record, "options"))
            answer = _field(record, "answer")
            problem = {"question": _field(record, "question"), "options": options, "answer": answer}
        except KeyError as err:
            raise ValueError(f"Benchmark 'race' ({source}), row {row}: missing field {err.args[0]!r}.") from err
        if len(options) != 4 or answer not in ("A", "B", "C", "D"):
            raise ValueError(
                f"Benchmark 'race' ({source}), row {row}: expected 4 options and an answer A-D, "
                f"got {len(options)} options and answer {answer!r}."
            )
        doc = articles.setdefault(article, {"article": article, "problems": [], "example_id": record.get("example_id")})
        doc["problems"].append(problem)
    if not articles:
        raise ValueError(f"Benchmark 'race' ({source}): no documents.")
    return list(articles.values())


def _record(record: dict[str, Any]) -> dict[str, Any] | None:
    doc = {k: _field(record, k) for k in ("passage", "query")}
    doc |= {k: list(_field(record, k)) for k in ("entities", "answers")}
    return doc if doc["answers"] else None  # unanswerable rows cannot be scored


def hellaswag_hub_record(line: str, label: str, endings: list[str]) -> dict[str, Any]:
    """One item of klosax's HellaSwag text (``activity_label: ctx``, label, 4 endings) as a Hub row.

    The text joins ``ctx_a`` and ``ctx_b``; lm-eval capitalises ``ctx_b`` (the unfinished sentence an
    ActivityNet item ends in), so it is split off again: a context that does not end in "." ends in
    that fragment, which starts after the last ". ". In the bundled validation file 6,799 contexts end
    in "." (``ctx_b`` empty) and none of the other 3,243 fragments starts with a capital (3,236 with a
    lower-case letter, the rest with a digit or a quote). lm-eval's own cleaning (tasks/utils.py
    ``hellaswag_process_docs``) then runs on these rows as on the Hub's.
    """
    activity_label, sep, ctx = line.partition(": ")
    if not sep:
        raise ValueError(f"context {line[:60]!r} has no 'activity label: ' prefix")
    ctx_a, ctx_b = ctx, ""
    if not ctx.endswith("."):
        head, dot, ctx_b = ctx.rpartition(". ")
        ctx_a = head + "." if dot else ""
    return {"activity_label": activity_label, "ctx_a": ctx_a, "ctx_b": ctx_b, "endings": endings, "label": label}


def _hellaswag_text(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """klosax's HellaSwag text: 6 lines per item (context, gold label, 4 endings) → Hub rows."""
    lines = [r["line"] for r in records]
    while lines and not lines[-1].strip():
        lines.pop()
    if len(lines) % 6:
        raise ValueError(f"HellaSwag text has {len(lines)} lines, not a multiple of 6")
    docs = []
    for start in range(0, len(lines), 6):
        label = lines[start + 1].strip()
        if label not in {"0", "1", "2", "3"}:
            raise ValueError(f"row {start // 6} (line {start + 2}): gold label {label!r} is not 0-3")
        try:
            docs.append(hellaswag_hub_record(lines[start], label, lines[start + 2 : start + 6]))
        except ValueError as err:
            raise ValueError(f"row {start // 6} (line {start + 1}): {err}") from err
    return [_hellaswag_hub(doc) for doc in docs]


NORMALISERS: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "openbookqa": _openbookqa,
    "sciq": _sciq,
    "arc_challenge": _arc,
    "piqa": _piqa,
    "record": _record,
    "sst2": _sst2,
    "mrpc": _mrpc,
    "rte": _rte,
    "mnli": _mnli,
    "mnli_mismatch": _mnli,
    "wsc273": _wsc273,
    "winogrande": _winogrande,
    "wic": _wic,
    "hellaswag": _hellaswag_hub,
    "truthfulqa": _truthfulqa,
}


def records_by_schema(schema: dict[str, Any]) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The normaliser a task file describes (``metadata.columns``, ``metadata.label_map``): each document
    field taken from its raw column; ``label`` (if mapped) through ``label_map``, whose keys are compared as
    lower-case text (``"true"``, ``True`` and ``"True"`` are one label)."""
    columns: dict[str, str] = schema["columns"]
    label_map = {str(k).lower(): v for k, v in (schema.get("label_map") or {}).items()}

    def normalise(record: dict[str, Any]) -> dict[str, Any]:
        doc = {field: _field(record, column) for field, column in columns.items()}
        if label_map and "label" in doc:
            raw_label = str(doc["label"]).lower()
            if raw_label not in label_map:
                raise ValueError(
                    f"label {doc['label']!r} is not in {schema.get('file')}'s label_map {sorted(label_map)}"
                )
            doc["label"] = label_map[raw_label]
        return doc

    return normalise


def normalise_docs(data_key: str, raw: dict[str, Any], schema: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Documents in the task YAML's schema; a bad row raises naming the benchmark, source and row.

    ``schema``: the task file's ``columns``/``label_map`` (:func:`records_by_schema`), used for data that has
    no normaliser here — a new multiple-choice or binary task needs no code.
    """
    records = raw["records"]
    source = raw.get("source")
    if data_key == "hellaswag" and records and "line" in records[0]:
        try:
            return _hellaswag_text(records)
        except ValueError as err:
            raise ValueError(f"Benchmark 'hellaswag' ({source}): {err}.") from err
    if data_key == "race":
        return race_documents(records, source)
    if data_key not in NORMALISERS and schema is None:
        raise KeyError(
            f"No normaliser for benchmark data {data_key!r}; known: {sorted(NORMALISERS)}. Give its task file "
            "metadata.columns (document field: raw column) and, if needed, metadata.label_map."
        )
    normalise = NORMALISERS[data_key] if data_key in NORMALISERS else records_by_schema(schema)
    docs = []
    for row, record in enumerate(records):
        try:
            doc = normalise(record)
        except KeyError as err:
            raise ValueError(f"Benchmark {data_key!r} ({source}), row {row}: missing field {err.args[0]!r}.") from err
        except (ValueError, TypeError, IndexError) as err:
            raise ValueError(f"Benchmark {data_key!r} ({source}), row {row}: {err}.") from err
        if doc is not None:
            docs.append(doc)
    if not docs:
        raise ValueError(f"Benchmark {data_key!r} ({source}): no documents.")
    return docs
