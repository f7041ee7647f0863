"""A multitask proxy learns to follow the instruction from texts paired with another task's
instruction; such a pair may only teach what is known about it."""

from __future__ import annotations

from typing import Any

import pytest

from falconer.core.spans import Span
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.encoding import IGNORE, TAG_O, encode, word_tags
from falconer.proxy.targets import TrainItem, window_targets
from falconer.proxy.training import Trainer, _Split

ASPECTS = "Extract the laptop features."
PEOPLE = "Extract the names of people."
POSITIVE = "Is this movie review positive?"


def _spans(text: str, *words: str) -> tuple[Span, ...]:
    return tuple(Span.of(text, text.index(w), text.index(w) + len(w)) for w in words)


def _split(instruction: str, kind: Any, examples: list[Example]) -> _Split:
    return _Split(TaskData(instruction, kind, examples), examples, [])


@pytest.fixture(scope="module")
def proxy() -> Proxy:
    return Proxy.from_pretrained("default", threads=1)


@pytest.fixture(scope="module")
def negatives(proxy: Proxy) -> list[TrainItem]:
    laptop = [f"The screen of model {i} is bright but the battery dies." for i in range(12)]
    news = [f"John Smith met Mary Jones on day {i}." for i in range(12)]
    reviews = [f"Tom Hanks is wonderful in film number {i}." for i in range(12)]
    splits = [
        _split(ASPECTS, "span", [Example(t, spans=_spans(t, "screen", "battery")) for t in laptop]),
        _split(
            PEOPLE, "span", [Example(t, spans=_spans(t, "John Smith", "Mary Jones")) for t in news]
        ),
        _split(POSITIVE, "label", [Example(t, label=True) for t in reviews]),
    ]
    trainer = Trainer(proxy.model, proxy.tokenizer, proxy.config, TrainConfig(seed=0))
    return trainer._cross_negatives(splits)


def test_a_yes_no_question_asked_of_another_tasks_text_is_answered_no(
    negatives: list[TrainItem],
) -> None:
    asked = [n for n in negatives if n.instruction == POSITIVE]
    assert asked and all(n.kind == "label" and n.label is False for n in asked)


def test_a_span_instruction_learns_only_that_the_texts_own_answers_are_not_its_answers(
    proxy: Proxy, negatives: list[TrainItem]
) -> None:
    spans = [n for n in negatives if n.kind == "span"]
    assert all(n.ruled_out_only and n.spans for n in spans)
    # every text with answers, once under each other span instruction
    assert sorted(n.instruction for n in spans) == [ASPECTS] * 12 + [PEOPLE] * 12
    # the people of a film review are unknown under the people instruction: no pair at all
    assert not [n for n in spans if n.text.startswith("Tom Hanks")]
    people_on_laptop = next(n for n in spans if n.instruction == PEOPLE)
    encoded = encode(proxy.tokenizer, [PEOPLE], [people_on_laptop.text], 128, 16)
    tags = window_targets([people_on_laptop], encoded, 0.0).tags[0]
    assert tags is not None
    doc = encoded.docs[0]
    aspects = {w for w, t in word_tags(doc, people_on_laptop.spans or ()).items() if t != TAG_O}
    assert len(aspects) == 2
    assert all(tags[w] == (TAG_O if w in aspects else IGNORE) for w in doc.word_offsets)
