"""The replay teacher answers from recorded real outputs only, over real HTTP."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from teacher_helpers import requests_for, settings_for

from lamini_lm.prompting import fold_input
from lamini_lm.teacher import complete
from lamini_lm.teacher.replay import is_replay_server
from lamini_lm.teacher.replay.corpus import load_corpus

RAW = "data/01_raw"


def test_recorded_answers_from_every_source(replay, tmp_path, project_root):
    lamini = json.loads(
        (project_root / RAW / "distilled/lamini/lamini_instruction_10k_fmengine.jsonl").open().readline()
    )["text"]
    instruction, response = lamini.split("\nResponse: ", 1)
    alpaca = next(
        r
        for r in json.loads(
            (project_root / RAW / "distilled/alpaca/alpaca_data_first1727_text-davinci-003.json").read_text()
        )
        if r["input"]
    )
    p3 = json.loads((project_root / RAW / "sources/p3/t0_train_sample.jsonl").open().readline())
    seed = json.loads((project_root / RAW / "seeds/self_instruct_seed_tasks.jsonl").open().readline())
    texts = [
        "  " + instruction.replace(" ", "  ") + "\n",  # whitespace-normalised lookup
        fold_input(alpaca["instruction"], alpaca["input"]),
        p3["prompt"],
        fold_input(seed["instruction"], seed["instances"][0]["input"]),
    ]
    out = complete(requests_for(texts), settings_for(replay, tmp_path))
    assert out["error_kind"].isna().all()
    assert out.loc[0, "text"] == response
    assert out.loc[1, "text"] == alpaca["output"]
    assert out.loc[2, "text"] == p3["completion"].replace("<|endoftext|>", "").strip()
    assert out.loc[3, "text"] == seed["instances"][0]["output"]
    assert out["teacher_model"].tolist() == [
        "replay:gpt-3.5-turbo",
        "replay:text-davinci-003",
        "replay:p3-target",
        "replay:human-seed",
    ]
    assert (out["prompt_tokens"] > 0).all() and (out["completion_tokens"] > 0).all()


def test_generation_prompt_gets_unseen_recorded_instructions(replay, corpus, tmp_path):
    shown = corpus.pool[:3]
    prompt = "You are asked to come up with 7 diverse task instructions. Topics: Chemistry, Volcanoes.\n" + "\n".join(
        f"<example>{s}</example>" for s in shown
    )
    out = complete(requests_for([prompt]), settings_for(replay, tmp_path))
    lines = out.loc[0, "text"].split("\n")
    assert [line.split(". ", 1)[0] for line in lines] == [str(i) for i in range(1, 8)]
    items = [line.split(". ", 1)[1] for line in lines]
    pool = set(corpus.pool)
    assert all(item in pool for item in items) and not set(items) & set(shown)
    assert any("chemi" in item.lower() or "volcan" in item.lower() for item in items)  # topic-guided
    assert out.loc[0, "teacher_model"] == "replay:instruction-pool"
    # deterministic per prompt, default count 20 without a number
    assert corpus.generate(prompt) == corpus.generate(prompt)
    assert len(corpus.generate("New instructions please.\n<example>x</example>")[0].split("\n")) == 20


def test_unknown_prompt_is_an_explicit_failure_not_retried(replay, tmp_path, corpus):
    texts = ["This prompt was never recorded by anyone, 7f3a.", corpus.pool[0]]
    out = complete(requests_for(texts), settings_for(replay, tmp_path))
    assert out.loc[0, "error_kind"] == "not_in_replay_corpus"
    assert "not in replay corpus" in out.loc[0, "error_message"]
    assert out.loc[0, "attempts"] == 1 and pd.isna(out.loc[0, "text"])
    assert pd.isna(out.loc[1, "error_kind"])  # the rest go on
    assert replay.stats["not_in_corpus"] == 1


def test_binds_loopback_and_is_recognisable(replay):
    assert replay.base_url.startswith("http://127.0.0.1:")
    assert is_replay_server("127.0.0.1", replay.port)


def test_corpus_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "lamini.jsonl"
    bad.write_text('{"text": "no separator here"}\n')
    with pytest.raises(ValueError, match=r"lamini.jsonl:1"):
        load_corpus(str(bad), None, None, None)
    with pytest.raises(FileNotFoundError, match="params:teacher.replay.alpaca_path"):
        load_corpus(None, str(tmp_path / "missing.json"), None, None)
