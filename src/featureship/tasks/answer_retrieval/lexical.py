"""BM25 over each answer's document (its title, reply and example questions), via `bm25s`.

The index is rebuilt from the bundle's texts when a model loads (milliseconds for a knowledge
base of hundreds of answers), so no index file is stored.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from featureship.errors import MissingExtraError


def _bm25s():  # noqa: ANN202 - the module, imported lazily (retrieval extra)
    try:
        import bm25s
    except ImportError as exc:
        raise MissingExtraError("bm25s", "retrieval", "Answer retrieval") from exc
    return bm25s


def tokenize(texts: Sequence[str]) -> list[list[str]]:
    return _bm25s().tokenize(list(texts), stopwords="en", return_ids=False, show_progress=False)


class Lexical:
    """Scores every answer for a query with BM25; rows are divided by their maximum so they
    lie in [0, 1] and fuse with cosine similarities on one scale."""

    def __init__(self, documents: Sequence[str]) -> None:
        bm25s = _bm25s()
        tokens = tokenize(documents)
        # An answer whose words are all stop words still needs a row: give it a placeholder.
        tokens = [t or ["\x00"] for t in tokens]
        self.index = bm25s.BM25()
        self.index.index(tokens, show_progress=False)
        self.vocabulary = set(self.index.vocab_dict)
        self.size = len(documents)

    def scores(self, queries: Sequence[str], raw: bool = False) -> np.ndarray:
        out = np.zeros((len(queries), self.size), dtype=np.float32)
        for row, words in enumerate(tokenize(queries)):
            known = [w for w in words if w in self.vocabulary]
            if known:
                out[row] = self.index.get_scores(known)
        if raw:
            return out
        top = out.max(1, keepdims=True)
        return np.divide(out, top, out=np.zeros_like(out), where=top > 0)
