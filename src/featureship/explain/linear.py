"""Exact per-word contributions of a linear head over TF-IDF n-gram features.

The head's score for class c is ``sum_f W[c, f] * x[f] + b[c]``; each present feature f
contributes ``W[c, f] * x[f]`` exactly. A feature is an n-gram occurring one or more times in
the text: its contribution is shared equally among its occurrences, and an occurrence's share
equally among the words it spans (a bigram gives half to each of its two words). So the word
weights sum to the class score minus the bias, with no approximation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer

from featureship.explain.words import Word


def _token_words(vectorizer: TfidfVectorizer, words: Sequence[Word]) -> list[tuple[str, int]]:
    # sklearn's preprocessing (lower-casing, accent stripping) acts per character, and its
    # token pattern never crosses our word boundaries, so tokenising word by word gives the
    # same token sequence as tokenising the whole text, with each token's word known.
    preprocess, tokenize = vectorizer.build_preprocessor(), vectorizer.build_tokenizer()
    stop = vectorizer.get_stop_words() or frozenset()
    out = []
    for index, word in enumerate(words):
        out += [(t, index) for t in tokenize(preprocess(word.text)) if t not in stop]
    return out


def ngram_owners(vectorizer: TfidfVectorizer, words: Sequence[Word]) -> dict[int, list[tuple[int, ...]]]:
    """Feature column -> the words of each of its occurrences in the text."""
    tokens = _token_words(vectorizer, words)
    low, high = vectorizer.ngram_range
    # a vectorizer rebuilt from a bundle has `vocabulary` until its first transform
    vocabulary = getattr(vectorizer, "vocabulary_", None) or vectorizer.vocabulary
    owners: dict[int, list[tuple[int, ...]]] = defaultdict(list)
    for n in range(low, high + 1):
        for i in range(len(tokens) - n + 1):
            gram = tokens[i : i + n]
            column = vocabulary.get(" ".join(t for t, _ in gram))
            if column is not None:
                owners[column].append(tuple(w for _, w in gram))
    return owners


def linear_word_contributions(vectorizer: TfidfVectorizer, text: str, words: Sequence[Word],
                              class_weights: np.ndarray) -> np.ndarray:
    """Each word's exact share of ``class_weights @ tfidf(text)``; shape (len(words),).

    `class_weights` is one row of the head (or any linear combination of rows), over the
    TF-IDF columns only.
    """
    row = vectorizer.transform([text]).tocsr()
    values = dict(zip(row.indices.tolist(), row.data.tolist(), strict=True))
    out = np.zeros(len(words), dtype=np.float64)
    owners = ngram_owners(vectorizer, words)
    missing = set(values) - set(owners)
    if missing:  # would make the decomposition inexact; never expected, so fail loudly
        raise RuntimeError(f"TF-IDF features {sorted(missing)[:5]} not traced back to words of {text!r}")
    for column, occurrences in owners.items():
        total = float(class_weights[column]) * values.get(column, 0.0)
        for occurrence in occurrences:
            share = total / len(occurrences) / len(occurrence)
            for w in occurrence:
                out[w] += share
    return out
