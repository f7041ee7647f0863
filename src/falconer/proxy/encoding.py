"""Instruction + text -> windows of token ids, and word-level tag targets.

Texts longer than the model's window are cut into overlapping windows over the text tokens,
each repeating the instruction, so nothing is ever silently truncated. Tags live on the first
sub-token of each word (the tokenizer's own word split), so a decoded span always covers
whole words and maps back to exact character offsets through the offset mapping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from falconer.core.errors import InputError
from falconer.core.spans import Span

IGNORE = -100
TAG_O, TAG_B, TAG_I = 0, 1, 2


@dataclass(slots=True)
class Window:
    """One model input: the instruction and a stretch of one text."""

    doc: int
    input_ids: list[int]
    token_type_ids: list[int] | None
    positions: list[int]
    words: list[int]
    shape_ids: list[int] = field(default_factory=list)


@dataclass(slots=True)
class EncodedDoc:
    """Where each word of a text sits, so window-level tags can be merged per document."""

    word_offsets: dict[int, tuple[int, int]] = field(default_factory=dict)
    windows: list[int] = field(default_factory=list)

    def ordered_words(self) -> list[int]:
        return sorted(self.word_offsets)


@dataclass(slots=True)
class Encoded:
    windows: list[Window]
    docs: list[EncodedDoc]


def encode(
    tokenizer: Any,
    instructions: Sequence[str],
    texts: Sequence[str],
    max_length: int,
    stride: int,
) -> Encoded:
    """Tokenize (instruction, text) pairs into overlapping windows; one `EncodedDoc` per text."""
    if len(instructions) != len(texts):
        raise InputError("instructions and texts differ in length")
    _check_window_fits(tokenizer, instructions, max_length, stride)
    batch = tokenizer(
        list(instructions),
        [text if text else " " for text in texts],
        truncation="only_second",
        max_length=max_length,
        stride=stride,
        return_overflowing_tokens=True,
        return_offsets_mapping=True,
        padding=False,
    )
    docs = [EncodedDoc() for _ in texts]
    windows: list[Window] = []
    type_ids = batch.get("token_type_ids")
    for w, doc_index in enumerate(batch["overflow_to_sample_mapping"]):
        encoding = batch.encodings[w]
        positions, words = _first_subtokens(encoding, docs[doc_index])
        docs[doc_index].windows.append(len(windows))
        windows.append(
            Window(
                doc=doc_index,
                input_ids=list(encoding.ids),
                token_type_ids=list(type_ids[w]) if type_ids is not None else None,
                positions=positions,
                words=words,
            )
        )
    for w, window in enumerate(windows):
        window.shape_ids = _shapes(batch.encodings[w], texts[window.doc], docs[window.doc])
    return Encoded(windows=windows, docs=docs)


SHAPE_NONE, SHAPE_LOWER, SHAPE_TITLE, SHAPE_UPPER, SHAPE_MIXED, SHAPE_DIGIT, SHAPE_OTHER = range(7)
N_SHAPES = 7


def word_shape(word: str) -> int:
    """Letter case and digits of a word: the cue for names that an uncased tokenizer erases."""
    if any(c.isdigit() for c in word):
        return SHAPE_DIGIT
    if not any(c.isupper() or c.islower() for c in word):
        return SHAPE_OTHER
    if word.islower():
        return SHAPE_LOWER
    if word.isupper() and len(word) > 1:
        return SHAPE_UPPER
    if word[0].isupper() and not any(c.isupper() for c in word[1:]):
        return SHAPE_TITLE
    return SHAPE_MIXED


def _shapes(encoding: Any, text: str, doc: EncodedDoc) -> list[int]:
    """One shape id per token: its whole word's shape for text tokens, none elsewhere."""
    shapes = []
    for sequence, word in zip(encoding.sequence_ids, encoding.word_ids, strict=True):
        if sequence != 1 or word is None or word not in doc.word_offsets:
            shapes.append(SHAPE_NONE)
            continue
        start, end = doc.word_offsets[word]
        shapes.append(word_shape(text[start:end]))
    return shapes


def _first_subtokens(encoding: Any, doc: EncodedDoc) -> tuple[list[int], list[int]]:
    """Positions of each text word's first sub-token in this window, and the word ids."""
    positions: list[int] = []
    words: list[int] = []
    previous: int | None = None
    first_in_window = True
    for position, (sequence, word, (start, end)) in enumerate(
        zip(encoding.sequence_ids, encoding.word_ids, encoding.offsets, strict=True)
    ):
        if sequence != 1 or word is None or end <= start:
            continue
        known = doc.word_offsets.get(word)
        doc.word_offsets[word] = (
            (min(start, known[0]), max(end, known[1])) if known else (start, end)
        )
        continuing = word == previous or (
            first_in_window and known is not None and start > known[0]
        )
        if not continuing:
            positions.append(position)
            words.append(word)
        previous = word
        first_in_window = False
    return positions, words


def _check_window_fits(
    tokenizer: Any, instructions: Sequence[str], max_length: int, stride: int
) -> None:
    longest = max((len(tokenizer.tokenize(i)) for i in set(instructions)), default=0)
    room = max_length - longest - tokenizer.num_special_tokens_to_add(pair=True)
    if room <= stride:
        raise InputError(
            f"instruction of {longest} tokens leaves {room} tokens of text per window, "
            f"not more than the overlap ({stride}); shorten the instruction or raise max_length"
        )


def word_tags(doc: EncodedDoc, spans: Sequence[Span]) -> dict[int, int]:
    """B/I/O tag of each word given gold spans; a word overlapping a span is inside it."""
    tags = dict.fromkeys(doc.word_offsets, TAG_O)
    for span in spans:
        inside = [
            word
            for word in doc.ordered_words()
            if doc.word_offsets[word][0] < span.end and span.start < doc.word_offsets[word][1]
        ]
        for rank, word in enumerate(inside):
            tags[word] = TAG_B if rank == 0 else TAG_I
    return tags
