import pytest

from falconer.core import Span
from falconer.core.metrics import calibration_error, score_labels, score_spans


def test_label_scores_count_the_true_class() -> None:
    scores = score_labels([True, True, False, False], [True, False, True, False])
    assert scores.accuracy == 0.5
    assert scores.precision == 0.5
    assert scores.recall == 0.5
    assert scores.f1 == 0.5


def test_exact_span_scores_need_same_offsets_and_count_spans_in_empty_docs() -> None:
    gold = [[Span(0, 3, "Ann")], []]
    predicted = [[Span(0, 3, "Ann"), Span(8, 11, "Bob")], [Span(0, 2, "xy")]]
    scores = score_spans(predicted, gold)
    assert scores.precision == pytest.approx(1 / 3)
    assert scores.recall == 1.0
    assert scores.n_predicted == 3


def test_lenient_span_scores_accept_overlap_with_equal_normalised_text() -> None:
    gold = [[Span(0, 9, "Acme  Inc")]]
    predicted = [[Span(0, 9, "acme inc ")]]
    # offsets equal -> exact hit too; shift by text equality only:
    shifted = [[Span(1, 10, "ACME INC")]]
    assert score_spans(predicted, gold).lenient_f1 == 1.0
    assert score_spans(shifted, gold).f1 == 0.0
    assert score_spans(shifted, gold).lenient_f1 == 1.0


def test_lenient_span_scores_reject_overlap_with_other_text() -> None:
    gold = [[Span(0, 12, "battery life")]]
    predicted = [[Span(0, 7, "battery")]]
    assert score_spans(predicted, gold).lenient_f1 == 0.0


def test_calibration_error_is_the_weighted_gap_between_sureness_and_hits() -> None:
    assert calibration_error([0.9] * 10, [True] * 9 + [False]) == pytest.approx(0.0)
    assert calibration_error([0.95] * 4, [True, True, False, False]) == pytest.approx(0.45)
    assert calibration_error([], []) == 0.0
    halves = calibration_error([0.55, 0.95], [True, True])
    assert halves == pytest.approx((0.45 + 0.05) / 2)
