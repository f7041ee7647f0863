"""A label step a plan filters on is judged by the F1 of what it lets through; under an unsure
ranking the best F1 keeps more than the expected share of yes."""

from __future__ import annotations

import numpy as np

from falconer.proxy.calibration import f1_optimal_share


def test_sure_answers_keep_exactly_the_yes_texts() -> None:
    assert f1_optimal_share(np.array([1.0, 0.0, 1.0, 0.0, 0.0])) == 0.4


def test_an_unsure_ranking_keeps_more_than_its_expected_share_of_yes() -> None:
    probabilities = np.array([0.45] * 10 + [0.3] * 20 + [0.02] * 170)
    expected_share = probabilities.sum() / len(probabilities)  # 0.07
    assert f1_optimal_share(probabilities) == 30 / 200
    assert f1_optimal_share(probabilities) > 2 * expected_share


def test_no_chance_of_yes_keeps_nothing() -> None:
    assert f1_optimal_share(np.zeros(5)) == 0.0
