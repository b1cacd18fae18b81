"""The requests a task builds, from our task files and from lm-eval 0.4.13's own installed YAMLs, no model.

A request set is one tuple per document: ``(requests, gold)`` where ``requests`` is the document's
``(context, continuation)`` pairs in lm-eval's order and ``gold`` the choices lm-eval scores as correct
(found by handing the task's own ``process_results`` a one-hot result per choice, so a custom scorer —
ReCoRD's F1, TruthfulQA's MC2 mass — is probed too).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from pathlib import Path
from typing import Any

from lamini_lm.pipelines.evaluation import benchmarks as bm

# Our task key → lm-eval 0.4.13's task YAML (relative to lm_eval/tasks) and its primary metric.
LM_EVAL_TASKS = {
    "arc_challenge": ("arc/arc_challenge.yaml", "acc_norm"),
    "boolq": ("super_glue/boolq/default.yaml", "acc"),
    "hellaswag": ("hellaswag/hellaswag.yaml", "acc_norm"),
    "mnli": ("glue/mnli/default.yaml", "acc"),
    "mnli_mismatch": ("glue/mnli/mismatch.yaml", "acc"),
    "mrpc": ("glue/mrpc/default.yaml", "acc"),
    "openbookqa": ("openbookqa/openbookqa.yaml", "acc_norm"),
    "piqa": ("piqa/piqa.yaml", "acc_norm"),
    "race": ("race/race.yaml", "acc"),
    "record": ("super_glue/record/default.yaml", "f1"),
    "rte": ("glue/rte/default.yaml", "acc"),
    "sciq": ("sciq/sciq.yaml", "acc_norm"),
    "sst2": ("glue/sst2/default.yaml", "acc"),
    "truthfulqa_mc1": ("truthfulqa/truthfulqa_mc1.yaml", "acc"),
    "truthfulqa_mc2": ("truthfulqa/truthfulqa_mc2.yaml", "acc"),
    "wic": ("super_glue/wic/default.yaml", "acc"),
    "winogrande": ("winogrande/default.yaml", "acc"),
    "wsc273": ("wsc273/default.yaml", "acc"),
}

Requests = list[tuple[tuple[tuple[str, str], ...], frozenset[int]]]


def lm_eval_schema(key: str, doc: dict[str, Any]) -> dict[str, Any]:
    """Our document in the schema of the dataset lm-eval's YAML reads (the Hub's; RACE: EleutherAI/race,
    whose ``problems`` is a Python-literal string)."""
    if key == "race":
        return doc | {"problems": repr(doc["problems"])}
    return doc


def request_set(task: Any, metric: str) -> Requests:
    """``task``'s requests per document and the choices its ``process_results`` scores as correct."""
    task.build_all_requests(rank=0, world_size=1)
    by_doc: dict[int, list[Any]] = defaultdict(list)
    for instance in task.instances:
        by_doc[instance.doc_id].append(instance)
    out = []
    for _, instances in sorted(by_doc.items()):
        instances.sort(key=lambda i: i.idx)
        doc, n = instances[0].doc, len(instances)
        gold = frozenset(
            i
            for i in range(n)
            if task.process_results(doc, [(0.0 if j == i else -1000.0, False) for j in range(n)])[metric] == 1
        )
        out.append((tuple(instance.args for instance in instances), gold))
    return out


def _squad_metrics_stand_in() -> None:
    """lm-eval 0.4.13's ReCoRD scorer imports ``transformers.data.metrics.squad_metrics``, which transformers 5
    removed (the installed lm-eval cannot build its own ReCoRD task here). Stand in with SQuAD's exact match and
    token F1 (answers lower-cased, punctuation and articles dropped) so that its task can be built and probed."""
    import re
    import string
    import sys
    import types
    from collections import Counter

    try:
        import transformers.data.metrics.squad_metrics  # noqa: F401

        return
    except ImportError:
        pass

    def tokens(text: str) -> list[str]:
        text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
        return re.sub(r"\b(a|an|the)\b", " ", text).split()

    def compute_exact(gold: str, prediction: str) -> int:
        return int(tokens(gold) == tokens(prediction))

    def compute_f1(gold: str, prediction: str) -> float:
        g, p = tokens(gold), tokens(prediction)
        if not g or not p:
            return float(g == p)
        common = sum((Counter(g) & Counter(p)).values())
        return 0.0 if not common else 2 * common / (len(g) + len(p))

    squad = types.ModuleType("transformers.data.metrics.squad_metrics")
    squad.compute_exact, squad.compute_f1 = compute_exact, compute_f1
    metrics = types.ModuleType("transformers.data.metrics")
    metrics.squad_metrics = squad
    sys.modules.update({"transformers.data.metrics": metrics, "transformers.data.metrics.squad_metrics": squad})


@functools.cache
def _lm_eval_config(key: str) -> dict[str, Any]:
    import lm_eval
    from lm_eval.tasks._yaml_loader import load_yaml

    _squad_metrics_stand_in()
    return load_yaml(Path(lm_eval.__file__).parent / "tasks" / LM_EVAL_TASKS[key][0], resolve_func=True)


def lm_eval_requests(key: str, docs: list[dict[str, Any]]) -> Requests:
    """lm-eval 0.4.13's own task ``key`` fed ``docs``: its YAML as installed, its dataset replaced by
    ``docs`` (a ``datasets.Dataset`` under every split it names, via the ``custom_dataset`` hook), no hub."""
    import copy

    import datasets
    from lm_eval.api.task import ConfigurableTask

    config = copy.deepcopy(_lm_eval_config(key))
    dataset = datasets.Dataset.from_list([lm_eval_schema(key, doc) for doc in docs])
    splits = {config.get(s) for s in ("training_split", "validation_split", "test_split", "fewshot_split")}
    config["custom_dataset"] = lambda **_: datasets.DatasetDict({s: dataset for s in splits - {None}})
    return request_set(ConfigurableTask(config=config), LM_EVAL_TASKS[key][1])


def our_requests(key: str, docs: list[dict[str, Any]], prompt_version: str, root: Path) -> Requests:
    """Our task file ``tasks/lamini_<key>.yaml`` as the node runs it: the folder it materialises (YAML +
    JSONL + utils.py) loaded by lm-eval's ``TaskManager``."""
    from lm_eval.tasks import TaskManager

    spec = bm.read_task_spec(bm.TASKS_DIR / f"lamini_{key}.yaml")
    folder = bm.materialise_task(spec, docs, root, None, prompt_version)
    manager = TaskManager(include_path=str(folder), include_defaults=False, verbosity="ERROR")
    task = manager.load_task_or_group([spec.lm_eval_task])[spec.lm_eval_task]
    return request_set(task, spec.metric)


def first_difference(ours: Requests, theirs: Requests) -> str:
    """The first document whose requests differ, shown side by side (for assertion messages)."""
    if len(ours) != len(theirs):
        return f"{len(ours)} documents vs lm-eval's {len(theirs)}"
    for i, (a, b) in enumerate(zip(ours, theirs)):
        if a != b:
            return f"document {i}:\n  ours:    {a!r}\n  lm-eval: {b!r}"
    return "no difference"
