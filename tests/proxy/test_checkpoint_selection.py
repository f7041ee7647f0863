"""A few dozen held-out texts score a checkpoint to within a few points only; the fit keeps the
latest checkpoint that noise cannot tell from the best, since later ones mostly test better."""

from __future__ import annotations

import math

from falconer.proxy.selection import CheckpointSelection

TASK = "Extract the names of people."
QUESTION = "Is this news article about sports?"


def _kept(selection: CheckpointSelection, scores: list[float], instruction: str = TASK) -> int:
    kept = -1
    for step, score in enumerate(scores):
        if selection.consider(score, {instruction: score}):
            kept = step
    return kept


def test_a_later_checkpoint_within_one_standard_error_of_the_best_is_kept() -> None:
    # 38 held-out texts: the standard error of a score near 0.9 is about 0.05
    assert _kept(CheckpointSelection(1.0, {TASK: 38}), [0.70, 0.91, 0.88, 0.86, 0.88]) == 4


def test_a_drop_beyond_the_noise_keeps_the_best_checkpoint() -> None:
    assert _kept(CheckpointSelection(1.0, {TASK: 38}), [0.70, 0.91, 0.75, 0.72]) == 1


def test_no_slack_keeps_the_best_and_the_later_of_equals() -> None:
    assert _kept(CheckpointSelection(0.0, {TASK: 38}), [0.70, 0.91, 0.88, 0.91, 0.80]) == 3


def test_the_kept_checkpoint_is_the_latest_within_reach_of_the_final_best() -> None:
    scores = [0.60, 0.66, 0.63, 0.80, 0.74, 0.70, 0.79]
    selection = CheckpointSelection(1.0, {TASK: 38})
    kept = _kept(selection, scores)
    reach = max(scores) - selection.standard_error()
    assert kept == max(i for i, s in enumerate(scores) if s >= reach)


def test_a_perfect_held_out_score_is_not_taken_as_certain() -> None:
    selection = CheckpointSelection(1.0, {TASK: 38})
    selection.consider(1.0, {TASK: 1.0})
    assert 0.02 < selection.standard_error() < 0.03
    assert math.isclose(CheckpointSelection(1.0, {}).standard_error(), 0.0)


def test_a_yes_no_steps_few_yes_answers_widen_the_noise_its_f1_is_read_with() -> None:
    # agnews-sports, seed 2: 38 held-out texts, 11 of them yes; perfect after 150 of 300
    # steps, one error at every later evaluation. Its F1 counts 11 answers, not 38.
    scores = [1.0, 0.97, 0.97, 0.97]
    assert _kept(CheckpointSelection(1.0, {QUESTION: 38}), scores, QUESTION) == 0
    assert _kept(CheckpointSelection(1.0, {QUESTION: 38}, {QUESTION: 11}), scores, QUESTION) == 3


def test_a_yes_no_step_with_no_yes_in_its_held_out_slice_still_has_a_finite_error() -> None:
    selection = CheckpointSelection(1.0, {QUESTION: 38}, {QUESTION: 0})
    selection.consider(1.0, {QUESTION: 1.0})
    assert 0.025 < selection.standard_error() < 0.5
