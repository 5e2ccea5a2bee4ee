"""Why a question got its answer: the words of the question and of the matched text that
drove the match, by occlusion (delete one word, score again, the drop is its weight).

Occlusion reads the model as it is (dense, BM25 and fusion together), so the weights are
faithful to the score rather than to a proxy; it costs one extra embedding per word, which
is cheap for customer messages. (Hand-written: captum's occlusion works on tensors, and the
model's input here is words going through a tokenizer and BM25.)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from featureship.tasks.answer_retrieval.lexical import tokenize
from featureship.tasks.answer_retrieval.retriever import Retriever

MAX_WORDS = 64  # longer texts: only the first words are weighed (cost grows with words)


def _without(words: list[str], i: int) -> str:
    return " ".join(words[:i] + words[i + 1 :])


def explain_one(retriever: Retriever, query: str) -> dict[str, Any]:
    words = query.split()[:MAX_WORDS]
    base = retriever.fused([query])[0]
    best = int(base.argmax())
    probs = retriever.probabilities([query])[0]
    kind, text = _matched(retriever, query, best)
    # the question's words: how the best answer's fused score falls without each
    variants = [_without(words, i) for i in range(len(words))]
    if retriever.encoder is None:  # BM25 rows are scaled by their best; occlude raw scores
        raw = retriever.lexical.scores([query, *variants], raw=True)[:, best]
        drops = raw[0] - raw[1:]
    else:
        drops = base[best] - retriever.fused(variants)[:, best] if variants else np.zeros(0)
    # the matched text's words: how its similarity to the question falls without each
    matched_words = text.split()[:MAX_WORDS]
    if retriever.encoder is not None and matched_words:
        q = retriever.embed([query])[0]
        full = float(retriever.embed([text])[0] @ q)
        pieces = [_without(matched_words, j) for j in range(len(matched_words))]
        matched = full - retriever.embed(pieces) @ q
    else:  # BM25 only: a word of the matched text counts when the question shares it
        shared = set(tokenize([query])[0])
        matched = np.array([float(bool(set(tokenize([w])[0]) & shared)) for w in matched_words])
    return {
        "id": retriever.kb.ids[best], "score": round(float(probs[best]), 6),
        "matched_kind": kind, "matched_text": text,
        "attributions": [{"token": w, "weight": round(float(d), 6)}
                         for w, d in zip(words, drops, strict=True)],
        "matched_attributions": [{"token": w, "weight": round(float(d), 6)}
                                 for w, d in zip(matched_words, matched, strict=True)],
    }


def _matched(retriever: Retriever, query: str, answer: int) -> tuple[str, str]:
    """The answer's text closest to the query: one of its example questions, or the reply."""
    document = retriever.kb.document(answer)
    mine = [j for j, a in enumerate(retriever.examples.answers) if int(a) == answer]
    if retriever.encoder is None or not mine:
        return "answer", document
    q = retriever.embed([query])[0]
    sims = retriever.example_embeddings[mine] @ q
    j = int(sims.argmax())
    if float(sims[j]) >= float(retriever.answer_embeddings[answer] @ q):
        return "example question", retriever.examples.texts[mine[j]]
    return "answer", document
