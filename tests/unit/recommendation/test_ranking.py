import math

import numpy as np
import pytest

from featureship.evaluation.ranking import coverage, metrics_from_ranks, target_ranks, top_k


def test_target_rank_counts_better_and_tied_items():
    scores = np.array([[0.9, 0.1, 0.5, 0.5], [0.0, 1.0, -np.inf, 0.2]])
    # row 0: target 2 has one better (0.9) and one tie (item 3) -> rank 2
    # row 1: target 2 was excluded (-inf) -> never found (rank = n_items)
    assert target_ranks(scores, np.array([2, 2])).tolist() == [2, 4]


def test_metrics_by_hand():
    ranks = np.array([0, 1, 4, 9, 25])
    m = metrics_from_ranks(ranks, ks=(5, 10))
    assert m["hr@5"] == pytest.approx(3 / 5)
    assert m["hr@10"] == pytest.approx(4 / 5)
    ndcg5 = (1 + 1 / math.log2(3) + 1 / math.log2(6)) / 5
    assert m["ndcg@5"] == pytest.approx(ndcg5)
    assert m["ndcg@10"] == pytest.approx(ndcg5 + 1 / math.log2(11) / 5)
    assert m["mrr@5"] == pytest.approx((1 + 1 / 2 + 1 / 5) / 5)
    assert m["mrr@10"] == pytest.approx((1 + 1 / 2 + 1 / 5 + 1 / 10) / 5)


def test_perfect_and_hopeless_rankings():
    assert metrics_from_ranks(np.zeros(7), ks=(1,)) == {"hr@1": 1.0, "ndcg@1": 1.0, "mrr@1": 1.0}
    assert metrics_from_ranks(np.full(3, 50), ks=(10,)) == {"hr@10": 0.0, "ndcg@10": 0.0, "mrr@10": 0.0}


def test_top_k_orders_best_first_and_breaks_ties_by_index():
    scores = np.array([[0.2, 0.9, 0.9, -np.inf, 0.5]])
    assert top_k(scores, 3).tolist() == [[1, 2, 4]]
    assert top_k(scores, 10).shape == (1, 5)


def test_coverage():
    assert coverage(np.array([[0, 1], [1, 2]]), 10) == pytest.approx(0.3)
