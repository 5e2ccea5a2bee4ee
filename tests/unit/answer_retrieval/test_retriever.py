"""Dense scores of the retriever on hand-made unit vectors: nearest example vs the centroid mix."""

from __future__ import annotations

import numpy as np

from featureship.tasks.answer_retrieval.calibration import uncalibrated
from featureship.tasks.answer_retrieval.data import KnowledgeBase
from featureship.tasks.answer_retrieval.retriever import Examples, Retriever


def _unit(*rows: tuple[float, float]) -> np.ndarray:
    x = np.array(rows, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _retriever(beta: float) -> Retriever:
    kb = KnowledgeBase(["a", "b"], ["reply a", "reply b"], [None, None])
    # answer a: three examples around (1, 0); answer b: two around (0, 1) and one stray near a's
    examples = Examples(["a1", "a2", "a3", "b1", "b2", "b3"], np.array([0, 0, 0, 1, 1, 1]))
    embeddings = _unit((1, 0.1), (1, -0.1), (1, 0.3), (0.1, 1), (-0.1, 1), (1, 0.62))
    answers = _unit((1, -1), (-1, 1))  # the reply texts themselves say little
    return Retriever(kb, examples, None, answers, embeddings, 0.0, uncalibrated(0.95), prototype_weight=beta)


def test_nearest_example_alone_follows_a_stray_example_the_centroid_mix_does_not():
    query = _unit((1, 0.6))  # an 'a' question that happens to sit next to b's stray example
    nearest = _retriever(0.0).dense(query)[0]
    mixed = _retriever(0.5).dense(query)[0]
    assert nearest.argmax() == 1
    assert mixed.argmax() == 0


def test_beta_zero_is_the_best_cosine_to_an_answers_texts():
    retriever = _retriever(0.0)
    query = _unit((0.3, 1))
    sims = query @ retriever.example_embeddings.T
    expected = [max(sims[0, retriever.examples.answers == k].max(), float(query[0] @ retriever.answer_embeddings[k]))
                for k in (0, 1)]
    np.testing.assert_allclose(retriever.dense(query)[0], expected, rtol=1e-6)
