from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from falconer.core import InputError, Span
from falconer.proxy.decoding import decode_spans, join_split_words, merge_word_probabilities
from falconer.proxy.encoding import TAG_B, TAG_I, encode, word_tags

UNICODE_TEXTS = [
    (
        "😀😀 Barack Obama met 東京 officials 🎉 in Zoe\u0308 Café .",
        ["Barack Obama", "東京", "Zoe\u0308 Café"],
    ),
    (
        "Ｆｕｌｌ width ＡＢＣ and ﬁne ligature , then Ågård 's cat 🐈‍⬛ Nakamura",
        ["ＡＢＣ", "ﬁne", "Ågård", "Nakamura"],
    ),
    ("नमस्ते दुनिया and Müller — Straße 👩🏽‍💻 Dvořák", ["Müller", "Straße", "Dvořák"]),
]


def _gold(text: str, surfaces: list[str]) -> list[Span]:
    return [Span.of(text, text.index(s), text.index(s) + len(s)) for s in surfaces]


def _one_hot(tags: dict[int, int], words: list[int]) -> np.ndarray:
    probabilities = np.zeros((len(words), 3))
    probabilities[np.arange(len(words)), [tags[w] for w in words]] = 1.0
    return probabilities


@pytest.mark.parametrize(("text", "surfaces"), UNICODE_TEXTS)
def test_gold_spans_survive_tagging_and_decoding_in_unicode_text(
    tokenizer: Any, text: str, surfaces: list[str]
) -> None:
    gold = _gold(text, surfaces)
    encoded = encode(tokenizer, ["Extract the names."], [text], max_length=256, stride=32)
    doc = encoded.docs[0]
    tags = word_tags(doc, gold)
    window = encoded.windows[0]
    window_words = [(window.words, _one_hot(tags, window.words))]
    words, probabilities = merge_word_probabilities(doc, window_words)
    decoded = decode_spans(text, doc, words, probabilities)
    assert [(s.start, s.end, s.text) for s in decoded.spans] == [
        (s.start, s.end, s.text) for s in gold
    ]


def test_long_text_is_cut_into_overlapping_windows_that_each_repeat_the_instruction(
    tokenizer: Any,
) -> None:
    text = " ".join(f"word{i}" for i in range(3000))
    encoded = encode(tokenizer, ["Extract the names."], [text], max_length=128, stride=32)
    instruction_ids = tokenizer("Extract the names.")["input_ids"][:-1]
    assert len(encoded.windows) > 10
    for window in encoded.windows:
        assert len(window.input_ids) <= 128
        assert window.input_ids[: len(instruction_ids)] == instruction_ids
    seen = {word for window in encoded.windows for word in window.words}
    assert seen == set(encoded.docs[0].word_offsets)


def test_each_word_gets_one_first_subtoken_position_across_windows(tokenizer: Any) -> None:
    text = " ".join(["internationalization"] * 400)
    encoded = encode(tokenizer, ["Find it."], [text], max_length=64, stride=16)
    doc = encoded.docs[0]
    per_word: dict[int, int] = {}
    for window in encoded.windows:
        for word in window.words:
            per_word[word] = per_word.get(word, 0) + 1
    assert set(per_word) == set(doc.word_offsets)
    assert max(per_word.values()) <= 2


def test_word_tags_mark_the_first_word_of_a_span_b_and_the_rest_i(tokenizer: Any) -> None:
    text = "Prime Minister Costas Simitis spoke ."
    encoded = encode(tokenizer, ["Extract people."], [text], max_length=64, stride=16)
    doc = encoded.docs[0]
    tags = word_tags(doc, [Span.of(text, 15, 29)])
    assert [tags[w] for w in doc.ordered_words()] == [0, 0, TAG_B, TAG_I, 0, 0]


def test_an_instruction_too_long_for_the_window_is_an_input_error(tokenizer: Any) -> None:
    with pytest.raises(InputError, match="shorten the instruction"):
        encode(tokenizer, ["word " * 100], ["text"], max_length=64, stride=16)


def test_empty_text_encodes_to_a_window_without_words(tokenizer: Any) -> None:
    encoded = encode(tokenizer, ["Find it."], [""], max_length=64, stride=16)
    assert len(encoded.windows) == 1
    assert encoded.docs[0].word_offsets == {}


def test_spans_split_inside_one_word_are_joined_but_neighbours_are_not() -> None:
    text = "President Ange-Felix Patasse met Bruno N'Gotty , Ann and Bob ."
    spans = [
        Span.of(text, 10, 15),  # "Ange-"
        Span.of(text, 15, 28),  # "Felix Patasse"
        Span.of(text, 33, 40),  # "Bruno N"
        Span.of(text, 41, 46),  # "Gotty"
        Span.of(text, 49, 52),  # "Ann"
        Span.of(text, 57, 60),  # "Bob"
    ]
    assert [s.text for s in join_split_words(text, spans)] == [
        "Ange-Felix Patasse",
        "Bruno N'Gotty",
        "Ann",
        "Bob",
    ]


def _decoded(tokenizer: Any, text: str, rows: dict[str, list[float]]) -> list[str]:
    """Spans decoded from given (O, B, I) probabilities per word; unlisted words are O."""
    encoded = encode(tokenizer, ["Extract the names."], [text], max_length=256, stride=32)
    doc = encoded.docs[0]
    words = doc.ordered_words()
    probabilities = np.zeros((len(words), 3))
    for i, word in enumerate(words):
        start, end = doc.word_offsets[word]
        probabilities[i] = rows.get(text[start:end], [1.0, 0.0, 0.0])
    return [s.text for s in decode_spans(text, doc, words, probabilities).spans]


def test_a_b_that_leans_to_i_continues_the_name_it_touches(tokenizer: Any) -> None:
    # tags as the typed persons proxy gave them (seed 0): "Sun Jun" B B, "Aung San" B B
    rows = {
        "Sun": [0.14, 0.82, 0.04],
        "Jun": [0.05, 0.83, 0.11],
        "Aung": [0.04, 0.78, 0.18],
        "San": [0.13, 0.61, 0.25],
        "Kyi": [0.06, 0.05, 0.89],
    }
    text = "Sun Jun beat Aung San Kyi"
    assert _decoded(tokenizer, text, rows) == ["Sun Jun", "Aung San Kyi"]


def test_a_sure_b_or_a_comma_still_starts_a_new_name(tokenizer: Any) -> None:
    rows = {"Ann": [0.1, 0.8, 0.1], "Bob": [0.2, 0.7, 0.1], "Cy": [0.05, 0.8, 0.15]}
    # Bob: its O outweighs its I; Cy: a comma lies between
    assert _decoded(tokenizer, "Ann Bob , Cy", rows) == ["Ann", "Bob", "Cy"]
