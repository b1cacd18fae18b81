"""The distillation pipeline: wiring only.

Three chains, composed by ``create_pipeline``:

- ``create_teacher_pipeline``: instruction_pool → requests → the teacher → cleaned answers.
- ``create_data_pipeline``: published sources (+ the saved cleaned answers) → ``lamini_dataset``.
  It calls no teacher, so the training pipeline can include it and build its input on a fresh clone.
- ``create_report_pipeline``: the Hugging Face export and the dataset analysis.
"""

from __future__ import annotations

from kedro.pipeline import Node, Pipeline

from lamini_lm.pipelines.distillation.analysis import (
    dataset_statistics,
    diversity_scores,
    embed_instructions,
    plot_projection,
    source_counts,
    token_lengths,
    write_summary,
)
from lamini_lm.pipelines.distillation.assemble import assemble_lamini_dataset
from lamini_lm.pipelines.distillation.cleaning import clean_teacher_answers
from lamini_lm.pipelines.distillation.export import export_hf_dataset
from lamini_lm.pipelines.distillation.imports import import_published
from lamini_lm.pipelines.distillation.nodes import ask_teacher, build_requests

# The published sources, in de-duplication priority order after the teacher's own answers.
PUBLISHED_SOURCES = ("lamini", "alpaca")


def create_teacher_pipeline(**kwargs) -> Pipeline:
    """instruction_pool → teacher requests → results → cleaned answers (+ log and counts)."""
    return Pipeline(
        [
            Node(
                func=build_requests,
                inputs=["instruction_pool", "params:distillation.requests"],
                outputs="distillation_requests",
                name="build_teacher_requests_node",
            ),
            Node(
                func=ask_teacher,
                inputs=["distillation_requests", "params:teacher"],
                outputs=["distillation_teacher_results", "distillation_cost_projection"],
                name="ask_teacher_node",
            ),
            Node(
                func=clean_teacher_answers,
                inputs=["distillation_requests", "distillation_teacher_results", "params:distillation.cleaning"],
                outputs=["distillation_teacher_pairs", "distillation_cleaning_log", "distillation_cleaning_report"],
                name="clean_teacher_answers_node",
            ),
        ],
        tags="distillation",
    )


def create_data_pipeline(**kwargs) -> Pipeline:
    """Published sources (+ any saved teacher answers) → ``lamini_dataset``. No teacher calls."""
    imports = [
        Node(
            func=import_published,
            inputs=[f"distillation_{name}_raw", f"params:distillation.imports.{name}"],
            outputs=f"distillation_{name}_pairs",
            name=f"import_{name}_node",
        )
        for name in PUBLISHED_SOURCES
    ]
    assemble = Node(
        func=assemble_lamini_dataset,
        inputs=[
            "params:distillation.assemble",
            "distillation_teacher_pairs",
            *[f"distillation_{name}_pairs" for name in PUBLISHED_SOURCES],
        ],
        outputs="lamini_dataset",
        name="assemble_lamini_dataset_node",
    )
    return Pipeline([*imports, assemble], tags="distillation")


def create_report_pipeline(**kwargs) -> Pipeline:
    """``lamini_dataset`` → Hugging Face export and analysis in data/08_reporting/distillation."""
    return Pipeline(
        [
            Node(
                func=export_hf_dataset,
                inputs=["lamini_dataset", "params:distillation.export"],
                outputs="distillation_hf_dataset",
                name="export_hf_dataset_node",
            ),
            Node(
                func=source_counts,
                inputs="lamini_dataset",
                outputs="distillation_source_counts",
                name="source_counts_node",
            ),
            Node(
                func=token_lengths,
                inputs=["lamini_dataset", "params:distillation.analysis"],
                outputs=["distillation_token_length_plot", "distillation_token_length_stats"],
                name="token_lengths_node",
            ),
            Node(
                func=dataset_statistics,
                inputs=["lamini_dataset", "paper_dataset_statistics", "params:distillation.analysis"],
                outputs="distillation_dataset_statistics",
                name="dataset_statistics_node",
            ),
            Node(
                func=embed_instructions,
                inputs=["lamini_dataset", "params:distillation.analysis"],
                outputs="distillation_embeddings",
                name="embed_instructions_node",
            ),
            Node(
                func=plot_projection,
                inputs=["distillation_embeddings", "params:distillation.analysis"],
                outputs="distillation_projection_plot",
                name="plot_projection_node",
            ),
            Node(
                func=diversity_scores,
                inputs=["distillation_embeddings", "lamini_dataset", "params:distillation.analysis"],
                outputs="distillation_diversity",
                name="diversity_scores_node",
            ),
            Node(
                func=write_summary,
                inputs=[
                    "distillation_source_counts",
                    "distillation_token_length_stats",
                    "distillation_dataset_statistics",
                    "distillation_diversity",
                    "distillation_cleaning_report",
                    "distillation_cost_projection",
                    "params:distillation.analysis",
                ],
                outputs="distillation_summary",
                name="write_summary_node",
            ),
        ],
        tags="reporting",
    )


def create_pipeline(**kwargs) -> Pipeline:
    """The whole distillation pipeline: teacher answers → lamini_dataset → export and analysis."""
    return create_teacher_pipeline() + create_data_pipeline() + create_report_pipeline()
