"""Prompt parity, no model: our task files build lm-eval's own requests, byte for byte.

For every task and every bundled split (sampled) and the hand-written Hub rows of the tasks with no bundled
copy, the (context, continuation) requests and the gold choices that our task file builds — through the
folder the node materialises, loaded by lm-eval's TaskManager — equal those of lm-eval 0.4.13's installed
task YAML fed the same documents. Under ``paper_2023`` the tasks whose 2023 prompt differs are checked
against requests written by hand from the April-2023 harness's rules (fixtures/paper_2023_requests.yaml);
every other task must still build lm-eval 0.4.13's requests.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
import yaml
from kedro.io import DataCatalog
from lm_eval_parity import LM_EVAL_TASKS, first_difference, lm_eval_requests, our_requests

from lamini_lm.pipelines.evaluation import benchmarks as bm
from lamini_lm.pipelines.evaluation.normalisers import normalise_docs

FIXTURES = Path(__file__).parent / "fixtures"
# Task key → data key of its bundled split (conf/base catalog_evaluation.yml).
BUNDLED = {
    "arc_challenge": "arc_challenge",
    "boolq": "boolq",
    "hellaswag": "hellaswag",
    "mrpc": "mrpc",
    "openbookqa": "openbookqa",
    "piqa": "piqa",
    "rte": "rte",
    "sst2": "sst2",
    "truthfulqa_mc1": "truthfulqa",
    "truthfulqa_mc2": "truthfulqa",
    "wic": "wic",
    "winogrande": "winogrande",
    "wsc273": "wsc273",
}
HUB_ONLY = {"mnli": "mnli", "mnli_mismatch": "mnli_mismatch", "race": "race", "record": "record", "sciq": "sciq"}
PAPER_2023_CHANGES = {"mrpc", "race", "record", "sciq", "sst2", "wsc273"}
SAMPLE = 24  # documents per bundled split, evenly spaced, plus up to RULE_DOCS of those below
RULE_DOCS = 12


def _exercises_a_rule(key: str, doc: dict) -> bool:
    """Documents that hit a rule of lm-eval's processing (always in the sample)."""
    if key == "hellaswag":  # every [...] marker lm-eval removes
        return "[" in doc["activity_label"] + doc["ctx_a"] + doc["ctx_b"] + "".join(doc["endings"])
    if key == "wsc273":  # a possessive pronoun, an option lower-cased or not
        return doc["pronoun"].lower() in {"my", "his", "her", "our", "their"} or doc["options"][0].split()[0] in {
            "The",
            "He",
            "She",
        }
    return False


@functools.cache
def _bundled(data: str) -> tuple[dict, ...]:
    root = Path(__file__).resolve().parents[3]
    entry = yaml.safe_load((root / "conf/base/catalog_evaluation.yml").read_text())[f"benchmark_raw_{data}"]
    for key in ("filepath", "labels_filepath"):
        if key in entry:
            entry[key] = str(root / entry[key])
    raw = DataCatalog.from_config({"raw": entry}).load("raw")
    return tuple(normalise_docs(data, raw, bm.document_schema(data)))


def _sample(key: str, docs: tuple[dict, ...]) -> list[dict]:
    step = max(1, len(docs) // SAMPLE)
    rules = [i for i, doc in enumerate(docs) if _exercises_a_rule(key, doc)]
    chosen = set(range(0, len(docs), step)) | set(rules[:: max(1, len(rules) // RULE_DOCS)])
    return [docs[i] for i in sorted(chosen)]


@functools.cache
def _hub_rows() -> dict:
    return yaml.safe_load((FIXTURES / "hub_docs.yaml").read_text())


def _hub_docs(data: str) -> list[dict]:
    return normalise_docs(data, {"records": _hub_rows()[data], "source": "fixtures/hub_docs.yaml"})


@functools.cache
def _docs(key: str) -> tuple[dict, ...]:
    return tuple(_sample(key, _bundled(BUNDLED[key])) if key in BUNDLED else _hub_docs(HUB_ONLY[key]))


@functools.cache
def _lm_eval(key: str):
    """lm-eval 0.4.13's requests for ``_docs(key)`` (built once for both prompt versions' tests)."""
    return lm_eval_requests(key, list(_docs(key)))


@pytest.fixture(scope="module")
def work_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tasks")


def test_every_task_file_is_checked_against_lm_eval():
    keys = {spec.key for spec in bm.task_specs()}
    assert keys == set(BUNDLED) | set(HUB_ONLY) == set(LM_EVAL_TASKS)
    catalog = yaml.safe_load(Path("conf/base/catalog_evaluation.yml").read_text())
    bundled = {
        data
        for data in set(BUNDLED.values()) | set(HUB_ONLY.values())
        if "filepath" in catalog[f"benchmark_raw_{data}"]
    }
    assert bundled == set(BUNDLED.values())  # every bundled split is sampled, every other task has Hub rows


@pytest.mark.parametrize("key", sorted(LM_EVAL_TASKS))
def test_requests_equal_lm_eval_0_4_13(key, work_dir):
    ours = our_requests(key, list(_docs(key)), "lm_eval_0_4", work_dir)
    theirs = _lm_eval(key)
    assert ours == theirs, first_difference(ours, theirs)
    assert all(gold for _, gold in ours)  # every document has a gold choice


@pytest.mark.parametrize("key", sorted(set(LM_EVAL_TASKS) - PAPER_2023_CHANGES))
def test_paper_2023_is_lm_eval_0_4_13_where_the_2023_harness_agrees(key, work_dir):
    ours = our_requests(key, list(_docs(key)), "paper_2023", work_dir)
    assert ours == _lm_eval(key), first_difference(ours, _lm_eval(key))


def test_only_the_documented_tasks_change_in_paper_2023():
    changed = set()
    for spec in bm.task_specs():
        meta = yaml.load(spec.path.read_text(), Loader=bm._TaskLoader)["metadata"]
        if meta.get("prompt_versions", {}).get("paper_2023"):
            changed.add(spec.key)
    assert changed == PAPER_2023_CHANGES


PAPER_2023 = yaml.safe_load((FIXTURES / "paper_2023_requests.yaml").read_text())


@pytest.mark.parametrize("case", PAPER_2023, ids=[f"{c['task']}-{i}" for i, c in enumerate(PAPER_2023)])
def test_paper_2023_requests_follow_the_2023_rules(case, work_dir):
    ours = our_requests(case["task"], [case["doc"]], "paper_2023", work_dir)
    expected = [(tuple(tuple(request) for request in case["requests"]), frozenset(case["gold"]))]
    assert ours == expected, first_difference(ours, expected)


def test_every_paper_2023_change_has_a_fixture_from_a_bundled_split_or_the_hub_rows():
    assert {case["task"] for case in PAPER_2023} == PAPER_2023_CHANGES
    for case in PAPER_2023:
        source, _, row = case["doc_from"].rpartition(", ")
        if case["task"] in BUNDLED:  # the fixture's document is that row of the bundled split
            assert source.startswith("data/01_raw/benchmarks/")
            assert _bundled(BUNDLED[case["task"]])[int(row.removeprefix("row "))] == case["doc"]


def test_mnli_hypothesis_gets_a_final_full_stop(work_dir):
    """v0.3 and lm-eval 0.4.13 (glue/mnli/utils.py): strip the hypothesis, add "." unless it ends with one."""
    contexts = [requests[0][0] for requests, _ in our_requests("mnli", _hub_docs("mnli"), "lm_eval_0_4", work_dir)]
    assert [c.split("\nQuestion: ")[1] for c in contexts] == [
        "Product and geography are what make cream skimming work. True, False or Neither?\nAnswer:",
        "The man is sleeping. True, False or Neither?\nAnswer:",
        "Is the man asleep?. True, False or Neither?\nAnswer:",
    ]


def test_truthfulqa_is_an_extra_asked_after_lm_evals_six_question_primer(work_dir):
    from lm_eval.tasks.truthfulqa import utils  # noqa: F401  (installed: the primer's source)

    specs = {spec.key: spec for spec in bm.task_specs()}
    assert [k for k, s in specs.items() if not s.paper_task] == ["boolq", "truthfulqa_mc1", "truthfulqa_mc2"]
    assert sum(s.paper_task for s in specs.values()) == 15
    doc = _bundled("truthfulqa")[0]
    for key in ("truthfulqa_mc1", "truthfulqa_mc2"):
        context = our_requests(key, [doc], "lm_eval_0_4", work_dir)[0][0][0][0]
        assert context.startswith("Q: What is human life expectancy in the United States?\n")
        assert context.count("\n\nQ: ") == 6 and context.endswith(f"\n\nQ: {doc['question']}\nA:")
