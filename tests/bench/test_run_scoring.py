"""Scoring a run against gold or another run: span fields are paired by name, else the plan's
span fields together stand for a reference that keeps everything in one field."""

from __future__ import annotations

from falconer.bench.run_scoring import Answers, compare
from falconer.core.spans import Span

TEXT = "The battery and the screen are fine."
BATTERY, SCREEN = Span(4, 11, "battery"), Span(20, 26, "screen")


def _spans(**fields: list[Span]) -> Answers:
    return Answers("span", {}, {name: {"d1": found} for name, found in fields.items()})


def test_a_plan_that_splits_one_reference_field_is_scored_on_the_union_of_its_fields() -> None:
    gold = _spans(spans=[BATTERY, SCREEN])
    split = _spans(features=[SCREEN], components=[BATTERY, SCREEN])
    scores = compare(["d1"], split, gold)
    assert scores["score"] == 1.0
    assert scores["fields"]["spans"]["n_predicted"] == 2  # the screen counted once
    assert scores["fields"]["spans"]["predicted_field"] == "features + components"
    assert scores["same_answer_share"] == 1.0


def test_fields_with_the_reference_names_are_paired_by_name_and_not_merged() -> None:
    gold = _spans(people=[BATTERY], places=[SCREEN])
    run = _spans(places=[SCREEN], people=[])
    scores = compare(["d1"], run, gold)
    assert scores["fields"]["people"]["predicted_field"] == "people"
    assert scores["fields"]["places"]["f1"] == 1.0
    assert scores["score"] == 0.5


def test_label_answers_score_accuracy_with_missing_documents_as_false() -> None:
    gold = Answers("label", {"d1": True, "d2": False}, {})
    run = Answers("label", {"d1": True}, {})
    assert compare(["d1", "d2"], run, gold)["accuracy"] == 1.0
