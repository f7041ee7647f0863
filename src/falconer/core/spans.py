from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

from falconer.core.errors import InputError

# The kinds of name an extraction step can require of every span it returns; the annotator
# checks each extracted string's type with its own LLM question.
SpanType = Literal["person", "organization", "location"]
SPAN_TYPES: tuple[str, ...] = get_args(SpanType)


def checked_span_type(span_type: str | None) -> str | None:
    """`span_type` itself, or an InputError naming the known types."""
    if span_type is not None and span_type not in SPAN_TYPES:
        raise InputError(f"span type must be one of {SPAN_TYPES}, got {span_type!r}")
    return span_type


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A character interval of a text, `text[start:end] == self.text`.

    Offsets count Python `str` code points, so they stay correct for emoji, CJK and
    combining characters as long as the text is not re-encoded or normalised.
    """

    start: int
    end: int
    text: str
    confidence: float = 1.0

    def __post_init__(self) -> None:
        if self.start < 0 or self.end < self.start:
            raise InputError(f"invalid span offsets [{self.start}, {self.end})")

    @classmethod
    def of(cls, text: str, start: int, end: int, confidence: float = 1.0) -> Span:
        """Cut a span out of `text`, so its surface string can never disagree with offsets."""
        if end > len(text):
            raise InputError(f"span [{start}, {end}) exceeds text of length {len(text)}")
        return cls(start, end, text[start:end], confidence)

    def matches(self, text: str) -> bool:
        """Whether this span's offsets point at its own surface string in `text`."""
        return self.end <= len(text) and text[self.start : self.end] == self.text

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    @property
    def key(self) -> tuple[int, int]:
        return (self.start, self.end)


def same_spans(first: Iterable[Span], second: Iterable[Span]) -> bool:
    """Whether two answers mark exactly the same intervals (confidence and order aside)."""
    return {s.key for s in first} == {s.key for s in second}
