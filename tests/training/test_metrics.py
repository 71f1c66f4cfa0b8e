from __future__ import annotations

import math

import numpy as np
import pytest

from training.metrics import mrr_at_k, ndcg_at_k, recall_at_k, relevance_matrix


def test_perfect_ranking_scores_one() -> None:
    rel = np.array([[1, 0, 0], [1, 1, 0]], dtype=float)
    assert recall_at_k(rel, 2) == 1.0
    assert mrr_at_k(rel, 1) == 1.0
    assert ndcg_at_k(rel, 3) == pytest.approx(1.0)


def test_no_hit_scores_zero() -> None:
    rel = np.zeros((2, 5))
    n_relevant = np.array([1, 2])
    assert recall_at_k(rel, 5, n_relevant=n_relevant) == 0.0
    assert mrr_at_k(rel, 5, n_relevant=n_relevant) == 0.0
    ideal = np.array([[1, 0], [1, 1]], dtype=float)
    assert ndcg_at_k(rel, 5, ideal_relevance=ideal) == 0.0


def test_values_computed_by_hand() -> None:
    # query 0: relevant at rank 3; query 1: relevant at ranks 2 and 5 (of 2 relevant)
    rel = np.array([[0, 0, 1, 0, 0], [0, 1, 0, 0, 1]], dtype=float)
    assert mrr_at_k(rel, 10) == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert mrr_at_k(rel, 2) == pytest.approx((0 + 1 / 2) / 2)
    assert recall_at_k(rel, 3) == pytest.approx((1 + 0.5) / 2)
    dcg1 = 1 / math.log2(4)
    dcg2 = 1 / math.log2(3) + 1 / math.log2(6)
    idcg2 = 1 + 1 / math.log2(3)
    assert ndcg_at_k(rel, 5) == pytest.approx((dcg1 / 1 + dcg2 / idcg2) / 2)


def test_relevant_outside_the_list_counts_in_recall() -> None:
    rel = np.array([[1, 0]], dtype=float)
    assert recall_at_k(rel, 2, n_relevant=[4]) == pytest.approx(0.25)


def test_queries_without_relevant_items_are_skipped() -> None:
    rel = np.array([[1, 0], [0, 0]], dtype=float)
    assert mrr_at_k(rel, 2) == 1.0
    with pytest.raises(ValueError):
        mrr_at_k(np.zeros((2, 2)), 2)


def test_graded_ndcg_prefers_the_higher_gain_first() -> None:
    good = ndcg_at_k(np.array([[2.0, 1.0]]), 2)
    bad = ndcg_at_k(np.array([[1.0, 2.0]]), 2)
    assert good == pytest.approx(1.0)
    assert bad < good


def test_relevance_matrix_from_ids() -> None:
    rel = relevance_matrix([["a", "b", "c"], ["x"]], [{"c"}, {"x": 2.0}], k=3)
    np.testing.assert_array_equal(rel, [[0, 0, 1], [2, 0, 0]])
    with pytest.raises(ValueError):
        relevance_matrix([["a"]], [])


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError):
        recall_at_k(np.ones(3), 1)
    with pytest.raises(ValueError):
        mrr_at_k(np.ones((1, 3)), 0)


def test_truncated_lists_need_the_relevant_counts() -> None:
    # query 1's relevant item is outside its top-2: without n_relevant it would be skipped
    rel = np.array([[1, 0], [0, 0]], dtype=float)
    assert mrr_at_k(rel, 2, n_relevant=[1, 1]) == 0.5
    assert recall_at_k(rel, 2, n_relevant=[1, 1]) == 0.5
    assert ndcg_at_k(rel, 2, ideal_relevance=np.ones((2, 1))) == 0.5
