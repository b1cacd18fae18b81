"""What each ``teacher_model`` value of ``lamini_dataset`` means: one place for the dataset card and the summary."""

from __future__ import annotations

import pandas as pd

TEACHER_KINDS = {
    "replay": "the project's replay teacher (the offline demo): an answer recorded from a published dataset, "
    "served by a local server; after `replay:` is what wrote the recording (a model, `human-seed`, `p3-target`, "
    "...) — no model was asked in this run",
    "local": "answered in this run by a model on this machine (`teacher.backend: transformers` or the local "
    "server); after `local:` is the model's name or folder",
    "imported": "imported from a published dataset (`distillation.imports`): the model its publishers name, "
    "not asked in this run (e.g. LaMini-instruction's gpt-3.5-turbo-0301, Alpaca's text-davinci-003)",
    "api": "answered in this run by the teacher API under this model name (the name the endpoint reported)",
}
NO_TEACHER = "(none)"


def teacher_kind(teacher_model: str, imported: bool) -> str:
    """The key of :data:`TEACHER_KINDS` for one value: its ``replay:``/``local:`` prefix, else imported or api.

    ``imported`` is whether the row came without a teacher request (``request_id`` null).
    """
    if teacher_model.startswith("replay:"):
        return "replay"
    if teacher_model.startswith("local:"):
        return "local"
    return "imported" if imported else "api"


def _labels(lamini_dataset: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(``teacher_model`` as text, null → ``(none)``; imported: ``request_id`` null, or no such column)."""
    imported = (
        lamini_dataset["request_id"].isna()
        if "request_id" in lamini_dataset.columns
        else pd.Series(True, index=lamini_dataset.index)
    )
    return lamini_dataset["teacher_model"].astype("object").fillna(NO_TEACHER).astype(str), imported


def teacher_kinds(lamini_dataset: pd.DataFrame) -> pd.Series:
    """Each row's key of :data:`TEACHER_KINDS` (``replay``, ``local``, ``imported``, ``api``), same index."""
    models, imported = _labels(lamini_dataset)
    return pd.Series(
        [teacher_kind(m, bool(i)) for m, i in zip(models, imported)], index=lamini_dataset.index, dtype=object
    )


def teacher_model_counts(lamini_dataset: pd.DataFrame) -> pd.DataFrame:
    """One row per (``teacher_model``, kind): ``teacher_model, kind, rows, share, meaning``, sorted by value.

    A row is imported when its ``request_id`` is null (or the column is absent: nothing was asked);
    a null ``teacher_model`` is shown as ``(none)``.
    """
    models, _ = _labels(lamini_dataset)
    named = pd.DataFrame({"teacher_model": models.to_numpy(), "kind": teacher_kinds(lamini_dataset).to_numpy()})
    counts = named.groupby(["teacher_model", "kind"], sort=True).size().rename("rows").reset_index()
    counts["share"] = counts["rows"] / max(len(lamini_dataset), 1)
    counts["meaning"] = counts["kind"].map(TEACHER_KINDS)
    return counts[["teacher_model", "kind", "rows", "share", "meaning"]]
