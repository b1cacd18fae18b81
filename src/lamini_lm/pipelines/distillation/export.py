"""``lamini_dataset`` as a Hugging Face dataset with its dataset card."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from lamini_lm.datasets.cards import card_from
from lamini_lm.pipelines.distillation.params import ExportParams
from lamini_lm.pipelines.distillation.provenance import teacher_model_counts
from lamini_lm.reporting import dataframe_markdown

logger = logging.getLogger(__name__)


COLUMN_DESCRIPTIONS = {
    "instruction": "the instruction the teacher answered",
    "response": "the teacher's answer",
    "instruction_source": "where the instruction came from (the paper's subset names, e.g. `alpaca`, "
    "`self_instruct_with_topic`; `lamini_sample`: LaMini-instruction rows whose subset was not published)",
    "teacher_model": "who wrote the response (see *Teacher models*)",
    "prompt_tokens": "the request's prompt tokens as the teacher reported them (null for imported rows)",
    "completion_tokens": "the answer's tokens as the teacher reported them (null for imported rows)",
    "cost_usd": "the request's cost at the configured prices (null for imported rows)",
    "request_id": "the teacher request's id (null for rows imported from published datasets)",
}


def _size_category(rows: int) -> str:
    """The hub's ``size_categories`` bucket of ``rows``."""
    for limit, name in ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M")):
        if rows < limit:
            return name
    return "1M<n<10M" if rows < 10_000_000 else "10M<n<100M"


def build_dataset_card(lamini_dataset: pd.DataFrame, settings: ExportParams, date: str) -> Any:
    """The dataset card (``huggingface_hub.DatasetCard``, README.md): counts per source and split, the columns
    the export holds, what each ``teacher_model`` value means, date and licence notes."""
    from huggingface_hub import DatasetCard, DatasetCardData

    counts = (
        lamini_dataset.groupby(["instruction_source", "split"])
        .size()
        .unstack(fill_value=0)
        .reindex(columns=["train", "validation"], fill_value=0)
    )
    teachers = lamini_dataset.groupby("instruction_source")["teacher_model"].agg(
        lambda s: ", ".join(sorted(s.dropna().astype(str).unique()))
    )
    total = len(lamini_dataset)
    rows = [
        [
            source,
            int(r["train"]),
            int(r["validation"]),
            f"{(r['train'] + r['validation']) / total:.1%}",
            teachers[source],
        ]
        for source, r in counts.iterrows()
    ]
    split_sizes = lamini_dataset["split"].value_counts()
    cost = pd.to_numeric(lamini_dataset["cost_usd"]).sum() if "cost_usd" in lamini_dataset.columns else 0.0
    card_data = DatasetCardData(
        license=settings.licence,
        language=["en"],
        task_categories=["text-generation"],
        size_categories=[_size_category(total)],
        pretty_name=settings.pretty_name,
        configs=[
            {
                "config_name": "default",
                "data_files": [{"split": s, "path": f"data/{s}.parquet"} for s in sorted(split_sizes.index)],
            }
        ],
    )
    columns = [c for c in lamini_dataset.columns if c != "split"]
    column_lines = [f"- `{c}`: {COLUMN_DESCRIPTIONS.get(c, 'not described')}" for c in columns]
    kinds = teacher_model_counts(lamini_dataset)
    teacher_table = pd.DataFrame(
        {
            "teacher_model": "`" + kinds["teacher_model"] + "`",
            "rows": kinds["rows"].map("{:,}".format),
            "what it is": kinds["meaning"],
        }
    ).to_markdown(index=False, colalign=("left", "right", "left"))
    body = "\n\n".join(
        [
            f"# {settings.pretty_name}",
            "Instruction/response pairs distilled from a teacher LLM, built by the LaMini-LM Kedro project "
            "(Wu et al., *LaMini-LM: A Diverse Herd of Distilled Models from Large-Scale Instructions*, EACL 2024).",
            f"- Created: {date}\n- Rows: {total:,} (train {int(split_sizes.get('train', 0)):,}, "
            f"validation {int(split_sizes.get('validation', 0)):,})\n"
            f"- Teacher cost recorded in this dataset: ${cost:.4f}",
            "## Sources\n\n"
            + dataframe_markdown(["instruction_source", "train", "validation", "share", "teacher model(s)"], rows),
            "## Columns\n\nThe split is the file (`data/<split>.parquet`); each row has:\n\n" + "\n".join(column_lines),
            "## Teacher models\n\nWhat each `teacher_model` value of this dataset means:\n\n" + teacher_table,
            "## Licence\n\n" + settings.licence_notes.strip(),
        ]
    )
    return card_from(card_data, body + "\n", DatasetCard)


def export_hf_dataset(lamini_dataset: pd.DataFrame, settings: ExportParams) -> dict[str, Any]:
    """A ``DatasetDict`` (one split per ``split`` value) and its card, for
    ``lamini_lm.datasets.hf_export.HFDatasetExport``.

    ``settings`` is ``params:distillation.export`` (``pretty_name``, ``licence``,
    ``licence_notes``, ``date``: null → today, UTC).
    """
    import datasets  # slow import: only the export needs it

    if lamini_dataset.empty:
        raise ValueError("lamini_dataset is empty: nothing to export.")
    date = settings.date or dt.datetime.now(dt.timezone.utc).date().isoformat()
    # One Arrow table ordered by split; each split is then a zero-copy slice of it. A fingerprint
    # is given so that `datasets` does not hash the whole table (+4 GB, 6 s at 2.58M rows).
    codes, names = pd.factorize(lamini_dataset["split"], sort=True)
    order = np.argsort(codes, kind="stable")
    table = pa.Table.from_pandas(lamini_dataset.drop(columns="split"), preserve_index=False).take(order)
    ends = np.cumsum(np.bincount(codes, minlength=len(names)))
    starts = ends - np.bincount(codes, minlength=len(names))
    splits = {
        str(name): datasets.Dataset(table.slice(int(start), int(end - start)), fingerprint=uuid.uuid4().hex)
        for name, start, end in zip(names, starts, ends)
    }
    logger.info("Exporting lamini_dataset: %s", {k: len(v) for k, v in splits.items()})
    return {"dataset": datasets.DatasetDict(splits), "card": build_dataset_card(lamini_dataset, settings, date)}
