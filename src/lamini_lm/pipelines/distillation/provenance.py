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


def teacher_model_counts(lamini_dataset: pd.DataFrame) -> pd.DataFrame:
    """One row per (``teacher_model``, imported or not): ``teacher_model, kind, rows, share, meaning``.

    A row is imported when its ``request_id`` is null (or the column is absent: nothing was asked);
    a null ``teacher_model`` is shown as ``(none)``. Sorted by ``teacher_model``.
    """
    imported = (
        lamini_dataset["request_id"].isna()
        if "request_id" in lamini_dataset.columns
        else pd.Series(True, index=lamini_dataset.index)
    )
    named = pd.DataFrame(
        {
            "teacher_model": lamini_dataset["teacher_model"].astype("object").fillna(NO_TEACHER).astype(str),
            "imported": imported.to_numpy(),
        }
    )
    counts = named.groupby(["teacher_model", "imported"], sort=True).size().rename("rows").reset_index()
    counts["kind"] = [teacher_kind(m, bool(i)) for m, i in zip(counts["teacher_model"], counts["imported"])]
    counts["share"] = counts["rows"] / max(len(lamini_dataset), 1)
    counts["meaning"] = counts["kind"].map(TEACHER_KINDS)
    return counts[["teacher_model", "kind", "rows", "share", "meaning"]]
