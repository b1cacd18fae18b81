"""The replay teacher's corpus: recorded real outputs, looked up by instruction.

Sources (paths from ``params:teacher.replay``): LaMini-instruction 10k (gpt-3.5-turbo), Alpaca's
first 1,727 rows (text-davinci-003, input folded LaMini-style), the Self-Instruct seed tasks (human
written) and P3 prompts with their dataset targets. Nothing here is generated: every answer is a
recorded text, and every reply names its source as ``replay:<source>``.
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from lamini_lm.datasets.json_records import read_json_records
from lamini_lm.prompting import fold_input
from lamini_lm.teacher.tokens import normalise

PROJECT_ROOT = Path(__file__).resolve().parents[4]
_EXAMPLE = re.compile(r"<example>(.*?)</example>", re.S | re.I)
_COUNT = re.compile(r"\b(\d{1,3})\b(?:\W+[A-Za-z-]+){0,4}?\W+(?:instructions|tasks|questions)\b", re.I)
_WORD = re.compile(r"[a-z][a-z-]{3,}")
# Words of generation templates, not topics: they must not steer the choice of instructions.
_STOP = frozenset(
    """about above after again also answer below between both come could create diverse different does each
    example examples following from generate given have here instruction instructions into like list make more
    most must need next only other please prompt provide question questions related response same should some
    such task tasks than that their them then there these they this those topic topics under very what when
    where which while with without would write your unique common category categories new include includes
    including based using sure well good asked asking told tell show shown already them""".split()
)
DEFAULT_GENERATION_COUNT = 20


def content_words(text: str) -> set[str]:
    """Lower-case words of four letters or more that are not template words."""
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


@dataclass
class Corpus:
    """Recorded answers by normalised instruction, and the pool of instructions for generation prompts."""

    answers: dict[str, tuple[str, str]] = field(default_factory=dict)
    pool: list[str] = field(default_factory=list)
    index: dict[str, list[int]] = field(default_factory=dict)
    idf: dict[str, float] = field(default_factory=dict)

    def add(self, instruction: str, response: str, source: str, generation_pool: bool = False) -> None:
        key = normalise(instruction)
        if not key or key in self.answers:
            return
        self.answers[key] = (response, source)
        if generation_pool and "\n" not in instruction.strip():
            self.pool.append(instruction.strip())

    def build_index(self) -> None:
        index: dict[str, list[int]] = defaultdict(list)
        for i, instruction in enumerate(self.pool):
            for word in content_words(instruction):
                index[word].append(i)
        self.index = dict(index)
        n = max(1, len(self.pool))
        self.idf = {w: math.log(n / len(ids)) + 1.0 for w, ids in self.index.items()}

    def answer(self, text: str) -> tuple[str, str] | None:
        """``(recorded response, source)`` for an instruction, or ``None``."""
        return self.answers.get(normalise(text))

    def generate(self, prompt: str, seed: int = 0) -> tuple[str, str] | None:
        """Recorded instructions for a generation prompt (one with ``<example>`` tags), else ``None``.

        Returns ``N`` pool instructions as ``"1. …\\n2. …"``: none shown in the prompt's examples,
        deterministic per prompt, preferring those sharing content words with the prompt text
        outside the examples (e.g. the Wikipedia categories of topic-guided prompts).
        """
        examples = _EXAMPLE.findall(prompt)
        if not examples or not self.pool:
            return None
        shown = {normalise(e) for e in examples}
        outside = _EXAMPLE.sub(" ", prompt)
        match = _COUNT.search(outside)
        n = max(1, min(200, int(match.group(1)))) if match else DEFAULT_GENERATION_COUNT
        digest = hashlib.sha256(f"{seed}\n{prompt}".encode()).hexdigest()
        rng = random.Random(int(digest[:16], 16))
        scores: dict[int, float] = defaultdict(float)
        for word in sorted(content_words(outside)):
            for i in self.index.get(word, ()):
                scores[i] += self.idf[word]
        ranked = sorted(scores, key=lambda i: (-scores[i], i))[: 3 * n]
        rng.shuffle(ranked)
        chosen: list[str] = []
        seen = set(shown)

        def take(i: int) -> None:
            key = normalise(self.pool[i])
            if key not in seen:
                seen.add(key)
                chosen.append(self.pool[i])

        for i in ranked:
            if len(chosen) >= n:
                break
            take(i)
        tries = 0
        while len(chosen) < n and tries < 20 * n:
            take(rng.randrange(len(self.pool)))
            tries += 1
        text = "\n".join(f"{k}. {instruction}" for k, instruction in enumerate(chosen, 1))
        return text, "instruction-pool"


def _resolve(path: str, key: str) -> Path:
    candidate = Path(path)
    if not candidate.is_absolute() and not candidate.exists():
        candidate = PROJECT_ROOT / path
    if not candidate.exists():
        raise FileNotFoundError(f"Replay corpus file not found: {path} (params:teacher.replay.{key}).")
    return candidate


def _jsonl(path: Path):
    records, lines = read_json_records(path, "jsonl")
    return zip(lines, records)


@lru_cache(maxsize=4)
def load_corpus(
    lamini_path: str | None = None,
    alpaca_path: str | None = None,
    p3_path: str | None = None,
    seeds_path: str | None = None,
) -> Corpus:
    """Load (once per process) the recorded outputs; earlier sources win on equal instructions."""
    corpus = Corpus()
    if lamini_path:
        path = _resolve(lamini_path, "lamini_path")
        for line_no, row in _jsonl(path):
            text = row.get("text") if isinstance(row, dict) else None
            if not isinstance(text, str) or "\nResponse: " not in text:
                raise ValueError(f"{path}:{line_no}: expected a 'text' field with '\\nResponse: '.")
            instruction, response = text.split("\nResponse: ", 1)
            corpus.add(instruction, response, "gpt-3.5-turbo", generation_pool=True)
    if alpaca_path:
        path = _resolve(alpaca_path, "alpaca_path")
        records, lines = read_json_records(path, "json")
        for line_no, row in zip(lines, records):
            if "instruction" not in row or "output" not in row:
                raise ValueError(f"{path}:{line_no}: record lacks 'instruction'/'output'.")
            corpus.add(
                fold_input(row["instruction"], row.get("input")),
                row["output"],
                "text-davinci-003",
                generation_pool=True,
            )
    if seeds_path:
        path = _resolve(seeds_path, "seeds_path")
        for line_no, row in _jsonl(path):
            instances = row.get("instances") or []
            if not instances:
                raise ValueError(f"{path}:{line_no}: seed task without instances.")
            first = instances[0]
            corpus.add(fold_input(row["instruction"], first.get("input")), first.get("output", ""), "human-seed")
    if p3_path:
        path = _resolve(p3_path, "p3_path")
        for line_no, row in _jsonl(path):
            if "prompt" not in row or "completion" not in row:
                raise ValueError(f"{path}:{line_no}: expected 'prompt' and 'completion'.")
            target = row["completion"].strip()
            if target.endswith("<|endoftext|>"):
                target = target[: -len("<|endoftext|>")].rstrip()
            corpus.add(row["prompt"], target, "p3-target")
    corpus.build_index()
    return corpus
