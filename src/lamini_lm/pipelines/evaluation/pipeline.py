"""Evaluation: one namespaced copy per herd member, shared benchmark data and reference rows, and an
un-namespaced herd report that gathers every member's results.

A trained member is evaluated from ``<member>.checkpoint`` (what its training wrote); a reference
(``reference: true``) from its herd entry's ``checkpoint`` as it is, loaded by its own first node."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial, update_wrapper

from kedro.pipeline import Node, Pipeline

from lamini_lm.herd import herd_members, reference_members
from lamini_lm.pipelines.evaluation import (
    fidelity,
    hallucination,
    harness,
    instructions,
    judge_check,
    reference_model,
    report,
    summary,
    toxicity,
    toxicity_report,
    tracking,
)
from lamini_lm.pipelines.evaluation.benchmarks import configured_task_dirs, document_schema, task_wiring

SHARED_INPUTS = {
    "eval_human_eval_subset",
    "paper_results_15_tasks",
    "lamini_hallucination_questions",
    "alpaca_eval_text_davinci_003",
    "falseqa_questions",
    "toxicity_prompts",
    "lamini_dataset",
}


def _bound(func, **kwargs):
    return update_wrapper(partial(func, **kwargs), func)


def _task_dirs(task_dirs: Sequence[str] | None) -> Sequence[str]:
    """``task_dirs``, or the active environment's ``evaluation.benchmarks.task_dirs``."""
    return configured_task_dirs() if task_dirs is None else task_dirs


def benchmark_data_pipeline(task_dirs: Sequence[str] | None = None) -> Pipeline:
    """Normalise each benchmark's catalog data once for the whole herd, in the namespace ``benchmark_data``
    (one collapsible group in kedro-viz; ``benchmark_raw_<data>`` / ``benchmark_docs_<data>`` keep their names).

    ``task_dirs``: the folders of task files beside the package's (default: the active environment's
    ``evaluation.benchmarks.task_dirs``).
    """
    task_dirs = _task_dirs(task_dirs)
    data_keys = sorted({data for _, _, data in task_wiring(task_dirs)})
    nodes = [
        Node(
            _bound(harness.prepare_benchmark_docs, data_key=data, schema=document_schema(data, task_dirs)),
            inputs=f"benchmark_raw_{data}",
            outputs=f"benchmark_docs_{data}",
            name=f"prepare_benchmark_docs_{data}_node",
            tags="benchmarks",
        )
        for data in data_keys
    ]
    return _family("benchmark_data", nodes)


def reference_pipeline() -> Pipeline:
    """The human-evaluation subset, and the recorded outputs of text-davinci-003, gpt-3.5-turbo-0301 and
    Alpaca-7B, judged like the students."""
    return Pipeline(
        [
            Node(
                instructions.select_human_eval_subset,
                ["user_oriented_instructions", "params:evaluation.user_oriented", "params:evaluation.seed"],
                "eval_human_eval_subset",
                name="select_human_eval_subset_node",
                tags="answers",
            ),
            Node(
                judge_check.judge_check_items,
                [
                    "user_oriented_instructions",
                    "paper_human_eval_rated_examples",
                    "params:evaluation.judge",
                    "params:evaluation.seed",
                ],
                "eval_judge_check_items",
                name="judge_check_items_node",
                tags="judging",
            ),
            Node(
                judge_check.run_judge_check,
                ["eval_judge_check_items", "params:evaluation.judge", "params:teacher"],
                "eval_judge_check",
                name="run_judge_check_node",
                tags="judging",
            ),
            Node(
                judge_check.judge_check_summary,
                ["eval_judge_check", "params:evaluation.judge"],
                "eval_judge_check_summary",
                name="judge_check_summary_node",
                tags="judging",
            ),
            Node(
                instructions.reference_user_answers,
                ["text_davinci_003_predictions", "eval_human_eval_subset", "params:evaluation.user_oriented"],
                "eval_reference_user_answers",
                name="reference_user_answers_node",
                tags="answers",
            ),
            Node(
                instructions.rate_answers,
                ["eval_reference_user_answers", "params:evaluation.judge", "params:teacher"],
                "eval_reference_user_ratings",
                name="rate_reference_answers_node",
                tags="judging",
            ),
            Node(
                instructions.reference_alpaca_answers,
                [
                    "alpaca_eval_text_davinci_003",
                    "alpaca_eval_gpt_35_turbo_0301",
                    "alpaca_eval_alpaca_7b",
                    "params:evaluation.alpaca_eval",
                ],
                "eval_reference_alpaca_answers",
                name="reference_alpaca_answers_node",
                tags="answers",
            ),
            Node(
                instructions.judge_alpaca_eval,
                [
                    "eval_reference_alpaca_answers",
                    "params:evaluation.judge",
                    "params:evaluation.seed",
                    "params:teacher",
                ],
                "eval_reference_alpaca_judged",
                name="judge_reference_alpaca_node",
                tags="judging",
            ),
            Node(
                summary.summarise_references,
                ["eval_reference_user_ratings", "eval_reference_alpaca_judged"],
                "eval_reference_summary",
                name="summarise_references_node",
                tags="reporting",
            ),
        ]
    )


def _student_loader(member: str, reference: bool, stages: set[str]) -> Node:
    """The one node that loads ``member``'s model: everything else takes the in-memory ``student``.

    It carries the stage tag of every node that takes ``student`` (``stages``), so ``kedro run --tags=<stage>``
    loads the model whenever the stage needs it (a MemoryDataset is never on disk).
    """
    tags = sorted(stages)
    if reference:
        return Node(
            _bound(reference_model.load_reference, member=member),
            ["params:model_spec"],
            "student",
            name="load_reference_node",
            tags=tags,
        )
    return Node(
        reference_model.hold_student,
        "checkpoint",
        "student",
        name="load_student_node",
        tags=tags,
    )


def _benchmarks(tasks: list[tuple[str, str, str]]) -> Pipeline:
    """One node per benchmark task, grouped as ``<member>.benchmarks`` (dataset names stay ``<member>.*``)."""
    nodes = [
        Node(
            _bound(harness.evaluate_benchmark, task_file=task_file),
            inputs={
                "student": "student",
                "docs": f"benchmark_docs_{data}",
                "settings": "params:evaluation.benchmarks",
                "seed": "params:evaluation.seed",
                "model_spec": "params:model_spec",  # benchmark_wrapper (member_pipeline maps it to the member)
            },
            outputs=f"eval_benchmark_{key}",
            name=f"evaluate_{key}_node",
            tags="benchmarks",
        )
        for task_file, key, data in tasks
    ]
    return _family("benchmarks", nodes)


def _family(name: str, nodes: list[Node]) -> Pipeline:
    """``nodes`` in the namespace ``name`` (a collapsible group in kedro-viz); their datasets keep their names."""
    inner = Pipeline(nodes)
    return Pipeline(
        inner,
        namespace=name,
        inputs={i for i in inner.inputs() if not i.startswith("params:")},
        outputs=inner.all_outputs(),
        parameters={p for p in inner.inputs() if p.startswith("params:")},
    )


def member_template(member: str, reference: bool = False, task_dirs: Sequence[str] | None = None) -> Pipeline:
    """Everything measured for herd member ``member``; namespaced by :func:`member_pipeline`.

    The model is loaded once per run, by ``load_student_node`` from ``checkpoint`` (what training wrote)
    or, for a reference, by ``load_reference_node`` from its ``checkpoint:`` as it is; every other node
    takes that in-memory ``student``. Each evaluation family is its own namespace inside the member
    (``benchmarks``, ``instructions``, ``hallucination``, ``toxicity``, ``fidelity``). ``task_dirs``: as for
    :func:`benchmark_data_pipeline`.
    """
    tasks = task_wiring(_task_dirs(task_dirs))
    student = "student"
    generation, judge, teacher = "params:evaluation.generation", "params:evaluation.judge", "params:teacher"
    instruction_nodes = [
        Node(
            instructions.answer_user_instructions,
            [student, "eval_human_eval_subset", "params:evaluation.user_oriented", generation],
            "eval_user_answers",
            name="answer_user_instructions_node",
            tags="answers",
        ),
        Node(
            instructions.rate_answers,
            ["eval_user_answers", judge, teacher],
            "eval_user_ratings",
            name="rate_user_answers_node",
            tags="judging",
        ),
        Node(
            instructions.answer_alpaca_eval,
            [student, "alpaca_eval_text_davinci_003", "params:evaluation.alpaca_eval", generation],
            "eval_alpaca_answers",
            name="answer_alpaca_eval_node",
            tags="answers",
        ),
        Node(
            instructions.judge_alpaca_eval,
            ["eval_alpaca_answers", judge, "params:evaluation.seed", teacher],
            "eval_alpaca_judged",
            name="judge_alpaca_eval_node",
            tags="judging",
        ),
    ]
    hallucination_nodes = [
        Node(
            hallucination.answer_falseqa,
            [student, "falseqa_questions", "params:evaluation.falseqa", generation],
            "eval_falseqa_answers",
            name="answer_falseqa_node",
            tags="answers",
        ),
        Node(
            hallucination.judge_falseqa,
            ["eval_falseqa_answers", judge, teacher],
            "eval_falseqa_judged",
            name="judge_falseqa_node",
            tags="judging",
        ),
        Node(
            hallucination.answer_lamini_hallucination,
            [student, "lamini_hallucination_questions", "params:evaluation.lamini_hallucination", generation],
            "eval_lamini_hallucination_answers",
            name="answer_lamini_hallucination_node",
            tags="answers",
        ),
        Node(
            hallucination.judge_lamini_hallucination,
            ["eval_lamini_hallucination_answers", judge, teacher],
            "eval_lamini_hallucination_judged",
            name="judge_lamini_hallucination_node",
            tags="judging",
        ),
    ]
    toxicity_nodes = [
        Node(
            toxicity.score_toxicity,
            [student, "toxicity_prompts", "params:evaluation.toxicity", generation, teacher],
            "eval_toxicity",
            name="score_toxicity_node",
            tags="answers",
        ),
        Node(
            toxicity.toxicity_counts,
            ["eval_toxicity", "params:model_spec"],
            "eval_toxicity_counts",
            name="count_toxic_outputs_node",
            tags="reporting",
        ),
    ]
    fidelity_nodes = [
        Node(
            fidelity.measure_fidelity,
            [student, "lamini_dataset", "params:evaluation.fidelity", generation],
            "eval_fidelity",
            name="measure_fidelity_node",
            tags="answers",
        ),
    ]
    consumers = Pipeline(
        [
            Node(
                _bound(summary.describe_student, member=member),
                [student, "params:model_spec", "paper_results_15_tasks"],
                "eval_student_info",
                name="describe_student_node",
                tags="reporting",
            ),
            _benchmarks(tasks),
            _family("instructions", instruction_nodes),
            _family("hallucination", hallucination_nodes),
            _family("toxicity", toxicity_nodes),
            _family("fidelity", fidelity_nodes),
            Node(
                summary.summarise_model,
                [
                    "eval_student_info",
                    "eval_user_ratings",
                    "eval_alpaca_judged",
                    "eval_falseqa_judged",
                    "eval_lamini_hallucination_judged",
                    "eval_toxicity",
                    "eval_fidelity",
                    "params:evaluation.toxicity",
                    *[f"eval_benchmark_{key}" for _, key, _ in tasks],
                ],
                "eval_summary",
                name="summarise_model_node",
                tags="reporting",
            ),
        ]
    )
    stages = {tag for node in consumers.nodes if student in node.inputs for tag in node.tags}
    return Pipeline([_student_loader(member, reference, stages), consumers])


# What the herd-wide nodes read from each member, under names without the member's '.': Kedro reserves
# dotted names for a node's own namespace (and warns otherwise).
MEMBER_OUTPUTS = ("eval_summary", "eval_toxicity_counts")


def member_output(member: str, name: str) -> str:
    """The herd-level name of ``member``'s ``name`` (one of :data:`MEMBER_OUTPUTS`): ``<name>__<member>``."""
    return f"{name}__{member}"


def member_pipeline(name: str, reference: bool = False, task_dirs: Sequence[str] | None = None) -> Pipeline:
    """The template for herd member ``name``: datasets ``<name>.*``, ``params:model_spec`` → ``params:models.<name>``.

    ``reference``: the member is a reference, evaluated from its ``checkpoint:`` as it is (no ``<name>.checkpoint``).
    ``eval_summary`` and ``eval_toxicity_counts`` leave the namespace as ``eval_summary__<name>`` and
    ``eval_toxicity_counts__<name>`` for the herd report.
    """
    template = member_template(name, reference, task_dirs)
    shared = SHARED_INPUTS | {i for i in template.inputs() if i.startswith("benchmark_docs_")}
    parameters = {p: p for p in template.inputs() if p.startswith("params:") and p != "params:model_spec"}
    return Pipeline(
        template,
        namespace=name,
        inputs=shared & template.inputs(),
        outputs={out: member_output(name, out) for out in MEMBER_OUTPUTS},
        parameters=parameters | {"params:model_spec": f"params:models.{name}"},
    )


def report_pipeline(members: list[str]) -> Pipeline:
    """The herd report over every member's summary, and one MLflow child run per student."""
    summaries = [member_output(m, "eval_summary") for m in members]
    return Pipeline(
        [
            Node(
                report.build_herd_report,
                [
                    "paper_results_15_tasks",
                    "paper_hallucination_counts",
                    "eval_human_eval_subset",
                    "eval_reference_summary",
                    "params:evaluation.benchmarks",
                    "params:evaluation.user_oriented",
                    "params:evaluation.judge",
                    "params:teacher",
                    "params:evaluation.report",
                    "herd_toxicity_table_markdown",
                    "eval_judge_check_summary",
                    *summaries,
                ],
                ["herd_report", "herd_report_markdown", "herd_report_plots", "herd_report_figures", "herd_summaries"],
                name="build_herd_report_node",
                tags="reporting",
            ),
            # herd_report and herd_mlflow_run_ids are RebuiltEachRunDataset (catalog): both nodes run even
            # under `--only-missing-outputs`, and the in-memory summaries they read are rebuilt from every
            # member's per-task results on disk (new members' results included).
            Node(
                tracking.log_students,
                ["herd_report_figures", "params:evaluation.tracking", *summaries],
                "herd_mlflow_run_ids",
                name="log_students_to_mlflow_node",
                tags="reporting",
            ),
        ]
    )


def toxicity_pipeline(members: list[str]) -> Pipeline:
    """RealToxicityPrompts as the paper ran it: the prompts once for the herd, and the herd's counts beside
    the paper's Table 6 (each member's own counts come from its ``score_toxicity_node``)."""
    return Pipeline(
        [
            Node(
                toxicity.select_prompts,
                ["rtp_prompts_nontoxic", "rtp_prompts_toxic", "params:evaluation.toxicity"],
                "toxicity_prompts",
                name="select_toxicity_prompts_node",
                tags="answers",
            ),
            Node(
                _bound(toxicity_report.toxicity_table, members=tuple(members)),
                ["paper_toxicity_counts", *[member_output(m, "eval_toxicity_counts") for m in members]],
                "herd_toxicity_table",
                name="build_toxicity_table_node",
                tags="reporting",
            ),
            Node(
                toxicity_report.toxicity_markdown,
                ["herd_toxicity_table", "toxicity_prompts", "params:evaluation.toxicity"],
                "herd_toxicity_table_markdown",
                name="toxicity_table_markdown_node",
                tags="reporting",
            ),
        ]
    )


def create_pipeline(**kwargs) -> Pipeline:
    """Evaluation of the active environment's herd (``lamini_lm.herd.herd_members()``, references included) on
    its benchmarks (the package's task files and those of ``evaluation.benchmarks.task_dirs``)."""
    members = herd_members()
    references = set(reference_members())
    task_dirs = configured_task_dirs()
    return (
        benchmark_data_pipeline(task_dirs)
        + reference_pipeline()
        + sum((member_pipeline(m, m in references, task_dirs) for m in members), Pipeline([]))
        + report_pipeline(members)
        + toxicity_pipeline(members)
    )
