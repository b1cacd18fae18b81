"""ROUGE tokens of many texts, as ids into one vocabulary, and as strings for the compiled LCS."""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")
_WORD_OR_SEPARATOR = re.compile(r"[a-z0-9]+|\x00")
# Token ids become code points for rapidfuzz (one character a token), skipping the surrogates.
_SURROGATES = 0xD800
_MAX_ID = 0x10FFFF - 0x800


def rouge_tokens(text: str) -> list[str]:
    """The tokens ``rouge-score``'s default tokenizer yields without stemming: the ``[a-z0-9]+``
    runs of the lower-cased text (same output, tested; ~10x faster than its per-token checks)."""
    return _WORD.findall(text.lower())


@dataclass
class Tokens:
    """Token ids of many texts in one flat array: text ``i`` is ``ids[offsets[i]:offsets[i + 1]]``."""

    ids: np.ndarray
    offsets: np.ndarray
    words: list[str]

    def of(self, i: int) -> list[int]:
        return self.ids[self.offsets[i] : self.offsets[i + 1]].tolist()

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def sequences(self) -> list:
        """Each text's token ids as one ``str`` (a character a token), which rapidfuzz compares
        fastest; as tuples of ints if the vocabulary outgrows the code points."""
        if len(self.words) > _MAX_ID:
            return [tuple(self.of(i)) for i in range(len(self.offsets) - 1)]
        ids = self.ids.astype(np.uint32)
        ids[ids >= _SURROGATES] += 0x800
        joined = ids.tobytes().decode("utf-32-le")
        bounds = self.offsets.tolist()
        return [joined[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def tokenise(texts: list[str]) -> Tokens:
    """ROUGE tokens of every text as ids into a shared vocabulary (4 bytes a token).

    One regex pass over the texts joined by NUL (a NUL is never inside a token, and lower-casing
    does not look across it); texts that contain a NUL themselves are tokenised one by one.
    """
    vocabulary: defaultdict[str, int] = defaultdict(itertools.count().__next__)
    if not texts:
        return Tokens(np.zeros(0, dtype=np.int32), np.zeros(1, dtype=np.int64), [])
    if any("\x00" in text for text in texts):
        ids: list[int] = []
        offsets = [0]
        for text in texts:
            ids.extend(map(vocabulary.__getitem__, _WORD.findall(text.lower())))
            offsets.append(len(ids))
        return Tokens(np.array(ids, dtype=np.int32), np.array(offsets, dtype=np.int64), list(vocabulary))
    vocabulary["\x00"]  # id 0: the separator, dropped below
    codes = np.fromiter(
        map(vocabulary.__getitem__, _WORD_OR_SEPARATOR.findall("\x00".join(texts).lower())), dtype=np.int32
    )
    separators = np.flatnonzero(codes == 0)
    assert len(separators) == max(len(texts) - 1, 0)
    offsets = np.concatenate(([0], separators - np.arange(len(separators)), [len(codes) - len(separators)]))
    ids = codes[codes != 0] - 1
    return Tokens(ids.astype(np.int32), offsets.astype(np.int64), list(vocabulary)[1:])
