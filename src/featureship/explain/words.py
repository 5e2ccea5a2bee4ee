"""Whole words of a text, and sub-word or n-gram attributions merged back onto them.

A "word" is a run of letters and digits (with inner apostrophes: "don't") or a run of
punctuation, so "card?" is two words, "card" and "?". Both explainers (integrated gradients on
sub-word tokens, linear contributions of TF-IDF n-grams) land on these spans, so every head
answers in the same words, in reading order, and the deletion benchmark removes exactly them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

_WORD = re.compile(r"\w+(?:['’]\w+)*|[^\w\s]+")


@dataclass(frozen=True)
class Word:
    text: str
    start: int  # character offsets in the original text
    end: int


def split_words(text: str) -> list[Word]:
    """The words of `text` in reading order, with their character spans."""
    return [Word(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def word_of_offsets(words: Sequence[Word], offsets: Sequence[tuple[int, int]]) -> np.ndarray:
    """For each (start, end) token span the index of the word holding it; -1 for none.

    Special tokens carry the empty span (0, 0) and map to -1. A token that starts between
    words (it should not, for the tokenizers we use) goes to the word before it.
    """
    starts = np.array([w.start for w in words], dtype=np.int64)
    out = np.full(len(offsets), -1, dtype=np.int64)
    if not words:
        return out
    for i, (start, end) in enumerate(offsets):
        if end <= start:
            continue
        out[i] = max(int(np.searchsorted(starts, start, side="right")) - 1, 0)
    return out


def merge(weights: np.ndarray, owners: np.ndarray, n_words: int) -> np.ndarray:
    """Sum token weights onto their words (tokens owned by -1 are dropped)."""
    out = np.zeros(n_words, dtype=np.float64)
    keep = owners >= 0
    np.add.at(out, owners[keep], weights[keep])
    return out


def as_attributions(words: Sequence[Word], weights: np.ndarray) -> list[dict[str, object]]:
    """`[{"token": word, "weight": w}]` in reading order (the JSON every text explainer returns)."""
    return [{"token": w.text, "weight": float(x)} for w, x in zip(words, weights, strict=True)]


def without_words(text: str, words: Sequence[Word], drop: set[int]) -> str:
    """`text` with the words at indices `drop` cut out (spacing tidied)."""
    kept = [w.text for i, w in enumerate(words) if i not in drop]
    return " ".join(kept)
