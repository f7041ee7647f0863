"""A few dozen held-out texts score a checkpoint to within a few points only; the fit keeps the
latest checkpoint that noise cannot tell from the best, since later ones mostly test better."""

from __future__ import annotations

import math

from falconer.proxy.training import _Selection

TASK = "Extract the names of people."


def _kept(selection: _Selection, scores: list[float]) -> int:
    kept = -1
    for step, score in enumerate(scores):
        if selection.consider(score, {TASK: score}):
            kept = step
    return kept


def test_a_later_checkpoint_within_one_standard_error_of_the_best_is_kept() -> None:
    # 38 held-out texts: the standard error of a score near 0.9 is about 0.05
    assert _kept(_Selection(1.0, {TASK: 38}), [0.70, 0.91, 0.88, 0.86, 0.88]) == 4


def test_a_drop_beyond_the_noise_keeps_the_best_checkpoint() -> None:
    assert _kept(_Selection(1.0, {TASK: 38}), [0.70, 0.91, 0.75, 0.72]) == 1


def test_no_slack_keeps_the_best_and_the_later_of_equals() -> None:
    assert _kept(_Selection(0.0, {TASK: 38}), [0.70, 0.91, 0.88, 0.91, 0.80]) == 3


def test_the_kept_checkpoint_is_the_latest_within_reach_of_the_final_best() -> None:
    scores = [0.60, 0.66, 0.63, 0.80, 0.74, 0.70, 0.79]
    selection = _Selection(1.0, {TASK: 38})
    kept = _kept(selection, scores)
    reach = max(scores) - selection.standard_error()
    assert kept == max(i for i, s in enumerate(scores) if s >= reach)


def test_a_perfect_held_out_score_is_not_taken_as_certain() -> None:
    selection = _Selection(1.0, {TASK: 38})
    selection.consider(1.0, {TASK: 1.0})
    assert 0.02 < selection.standard_error() < 0.03
    assert math.isclose(_Selection(1.0, {}).standard_error(), 0.0)
