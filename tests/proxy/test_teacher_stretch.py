"""An unsure teacher's P(yes) all sit near 0.5; its logits are stretched before they become soft
targets, so the ranking it knows is taught as strongly as a sure teacher's would be."""

from __future__ import annotations

import math

import numpy as np

from falconer.proxy.targets import TrainItem, logit, stretched, teacher_stretch

UNSURE = "Is this review criticizing the laptop?"
SURE = "Is this review positive?"


def _item(instruction: str, probability: float, weight: float = 1.0) -> TrainItem:
    return TrainItem(instruction, "label", "text", probability > 0.5, None, weight, probability)


def test_an_unsure_teachers_logits_get_the_spread_and_keep_its_decisions_and_ranking() -> None:
    unsure = [0.30, 0.38, 0.45, 0.52, 0.57]
    sure = [0.05, 0.2, 0.7, 0.97]
    items = [_item(UNSURE, p) for p in unsure] + [_item(SURE, p) for p in sure]
    items.append(_item(UNSURE, 0.99, weight=0.5))  # a pseudo-label does not set the scale
    factors = teacher_stretch(items, 2.0)
    spread = [stretched(p, factors[UNSURE]) for p in unsure]
    assert math.isclose(float(np.std([logit(p) for p in spread])), 2.0, rel_tol=1e-6)
    assert [p > 0.5 for p in spread] == [p > 0.5 for p in unsure]
    assert spread == sorted(spread)  # the ranking is the teacher's
    assert spread[0] < 0.1 and spread[-1] > 0.75
    assert math.isclose(stretched(0.5, factors[UNSURE]), 0.5)
    assert factors[SURE] == 1.0  # logits already spread wider: never squeezed


def test_a_teacher_that_gave_one_probability_everywhere_is_left_as_it_is() -> None:
    assert teacher_stretch([_item(UNSURE, 0.4) for _ in range(5)], 2.0) == {}
