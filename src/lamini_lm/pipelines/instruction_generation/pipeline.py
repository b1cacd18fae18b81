"""Wiring of the instruction_generation pipeline (docs/instruction_generation.md)."""

from kedro.pipeline import Node, Pipeline

from lamini_lm.pipelines.instruction_generation import nodes, report


def create_pipeline(**kwargs) -> Pipeline:
    """Sources and topics → prompts → teacher → parse → filter → dedup → pool and report."""
    return Pipeline(
        [
            Node(
                nodes.build_topic_list,
                inputs=["ig_wikipedia_categories", "params:instruction_generation"],
                outputs=["wikipedia_topics", "ig_topic_stats"],
                name="build_topic_list_node",
            ),
            Node(
                nodes.normalise_sources,
                inputs=["ig_seed_tasks", "ig_alpaca", "ig_p3", "ig_flan"],
                outputs="ig_original_instructions",
                name="normalise_sources_node",
            ),
            Node(
                nodes.build_generation_prompts,
                inputs=["ig_original_instructions", "wikipedia_topics", "params:instruction_generation"],
                outputs="ig_generation_prompts",
                name="build_generation_prompts_node",
            ),
            Node(
                nodes.request_generations,
                inputs=["ig_generation_prompts", "params:teacher"],
                outputs="ig_generation_results",
                name="request_generations_node",
            ),
            Node(
                nodes.parse_generations,
                inputs=["ig_generation_prompts", "ig_generation_results"],
                outputs="ig_generated_candidates",
                name="parse_generations_node",
            ),
            Node(
                nodes.filter_instructions,
                inputs=["ig_generated_candidates", "ig_generation_prompts", "params:instruction_generation"],
                outputs=["ig_accepted_instructions", "ig_filter_rejections"],
                name="filter_instructions_node",
            ),
            Node(
                nodes.deduplicate_pool,
                inputs=[
                    "ig_original_instructions",
                    "ig_accepted_instructions",
                    "ig_filter_rejections",
                    "params:instruction_generation",
                ],
                outputs=["instruction_pool", "rejected_instructions"],
                name="deduplicate_pool_node",
            ),
            Node(
                report.build_generation_report,
                inputs=[
                    "ig_original_instructions",
                    "ig_generation_prompts",
                    "ig_generation_results",
                    "ig_generated_candidates",
                    "instruction_pool",
                    "rejected_instructions",
                    "ig_topic_stats",
                    "params:instruction_generation",
                ],
                outputs=["generation_report", "generation_report_md", "generation_source_mix_plot"],
                name="generation_report_node",
            ),
        ],
        tags="generation",
    )
