"""int8's margin: windows within int8's error of a decision are the ones answered again in fp32,
and the fitted margin is the smallest that keeps the asked-for agreement."""

from __future__ import annotations

import time

import numpy as np

from falconer.proxy.guard import fastest, fit_margin, window_errors
from falconer.proxy.inference import WindowLogits, borderline_windows


def _labels(values: list[float]) -> WindowLogits:
    return WindowLogits(np.asarray(values, dtype=np.float32), [np.zeros((0, 3))] * len(values))


def _answers(logits: WindowLogits) -> list[bool]:
    return [bool(v >= 0.0) for v in logits.label]


def test_label_windows_nearer_the_decision_than_the_margin_are_borderline() -> None:
    logits = _labels([-3.0, -0.4, 0.2, 2.5])
    assert borderline_windows(logits, "label", 0.0, 0.5).tolist() == [1, 2]
    assert borderline_windows(logits, "label", 2.0, 0.6).tolist() == [3]
    assert borderline_windows(logits, "label", 0.0, 0.0).tolist() == []


def test_a_word_whose_two_likeliest_tags_are_close_makes_its_window_borderline() -> None:
    sure = np.asarray([[5.0, 0.0, 0.0], [0.0, 4.0, 1.0]])
    unsure = np.asarray([[5.0, 0.0, 0.0], [0.0, 1.2, 1.0]])
    logits = WindowLogits(np.zeros(3, np.float32), [sure, unsure, np.zeros((0, 3))])
    # tags 1.2 vs 1.0: each may move by 0.15, so 0.2 apart can swap; 3.0 apart cannot
    assert borderline_windows(logits, "span", 0.0, 0.15).tolist() == [1]
    assert borderline_windows(logits, "span", 0.0, 2.0).tolist() == [0, 1]


def test_the_fitted_margin_is_the_smallest_error_that_mends_the_flips() -> None:
    reference = _labels([-2.0, -0.3, 0.5, 1.0, 3.0, -4.0, 0.1, -1.5])
    moves = [0.1, 0.5, 0.2, -0.1, 0.0, 0.2, -0.3, 0.1]  # windows 1 and 6 flip
    fast = _labels([r + m for r, m in zip(reference.label, moves, strict=True)])
    assert window_errors(reference, fast, "label").round(3).tolist() == [abs(m) for m in moves]
    assert sum(a != b for a, b in zip(_answers(reference), _answers(fast), strict=True)) == 2

    margin = fit_margin(reference, fast, _answers, "label", 0.0, min_agreement=1.0)
    mended = borderline_windows(fast, "label", 0.0, margin).tolist()
    assert {1, 6} <= set(mended) and len(mended) < len(moves)
    # asked for 6 of 8 the int8 answers do without mending, at the smallest quantile
    lenient = fit_margin(reference, fast, _answers, "label", 0.0, min_agreement=0.75)
    assert lenient < margin


def test_the_fastest_runtime_is_the_one_that_finished_its_timed_run_soonest() -> None:
    delays = {"slow": 0.05, "quick": 0.0}
    runs: list[str] = []

    def run(runtime: str) -> None:
        runs.append(runtime)
        time.sleep(delays[runtime])

    assert fastest(["slow", "quick"], run) == "quick"
    assert runs == ["slow", "slow", "quick", "quick"]  # a warm-up run each, then the timed one
