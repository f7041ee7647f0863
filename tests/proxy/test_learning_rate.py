"""The default encoder learning rate: measured on MiniLM, capped for wider encoders' spans."""

from __future__ import annotations

from falconer.proxy.training import WIDE_ENCODER_SPAN_RATE, default_learning_rate


def test_minilm_rates_are_those_measured_on_it() -> None:
    assert default_learning_rate(256, {"label"}) == 1e-4
    assert default_learning_rate(256, {"label"}, soft=True) == 2e-4
    assert default_learning_rate(256, {"span"}) == 2e-4
    assert default_learning_rate(1024, {"span"}) == 1e-4


def test_a_wider_encoder_learns_spans_at_a_lower_rate_and_labels_as_before() -> None:
    assert default_learning_rate(256, {"span"}, hidden_size=768) == WIDE_ENCODER_SPAN_RATE
    assert default_learning_rate(256, {"label", "span"}, hidden_size=768) == WIDE_ENCODER_SPAN_RATE
    assert default_learning_rate(256, {"label"}, hidden_size=768) == 1e-4
