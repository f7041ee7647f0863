"""Grounding the strings an LLM returns to character offsets of the document.

An LLM quotes; it does not count characters. Each returned string is searched for in the
text: exact occurrences first, then ignoring case and whitespace (so "don't" finds the
tokenized "do n't" and "macbook pro" finds "MacBook  Pro"). Matches must start and end on
word boundaries. A string found nowhere is dropped and counted: hallucinated text never
becomes a training span. Offsets are Python code points, so non-ASCII text is safe.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from falconer.core.spans import Span


@dataclass(frozen=True, slots=True)
class Grounded:
    spans: tuple[Span, ...]
    dropped: tuple[str, ...]


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


def _on_boundaries(text: str, start: int, end: int) -> bool:
    """True unless the match cuts a word at either end ("Mac" inside "MacBook")."""
    if start > 0 and _is_word_char(text[start - 1]) and _is_word_char(text[start]):
        return False
    return not (end < len(text) and _is_word_char(text[end - 1]) and _is_word_char(text[end]))


def _exact(text: str, needle: str) -> list[tuple[int, int]]:
    found = []
    start = text.find(needle)
    while start != -1:
        end = start + len(needle)
        if _on_boundaries(text, start, end):
            found.append((start, end))
        start = text.find(needle, start + 1)
    return found


def _squeezed(text: str) -> tuple[str, list[int]]:
    """Text without whitespace, lower-cased, and the original index of each kept character."""
    chars: list[str] = []
    index: list[int] = []
    for position, char in enumerate(text):
        if char.isspace():
            continue
        lowered = char.lower()
        chars.append(lowered if len(lowered) == 1 else char)
        index.append(position)
    return "".join(chars), index


def _loose(text: str, needle: str) -> list[tuple[int, int]]:
    squeezed_text, index = _squeezed(text)
    squeezed_needle, _ = _squeezed(needle)
    if not squeezed_needle:
        return []
    found = []
    start = squeezed_text.find(squeezed_needle)
    while start != -1:
        begin, end = index[start], index[start + len(squeezed_needle) - 1] + 1
        if _on_boundaries(text, begin, end):
            found.append((begin, end))
        start = squeezed_text.find(squeezed_needle, start + 1)
    return found


def locate(text: str, needle: str) -> list[tuple[int, int]]:
    """Every boundary-aligned occurrence of `needle`: exact if any, else case/space-insensitive."""
    needle = needle.strip()
    if not needle:
        return []
    return _exact(text, needle) or _loose(text, needle)


def _without_overlaps(intervals: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Keep longer intervals first; drop any interval overlapping one already kept."""
    kept: list[tuple[int, int]] = []
    for start, end in sorted(set(intervals), key=lambda se: (se[0] - se[1], se[0])):
        if all(end <= s or start >= e for s, e in kept):
            kept.append((start, end))
    return sorted(kept)


def ground(text: str, strings: Iterable[str]) -> Grounded:
    """Spans for the strings that occur in `text`; the others reported as dropped."""
    intervals: list[tuple[int, int]] = []
    dropped: list[str] = []
    for string in strings:
        found = locate(text, string)
        if found:
            intervals.extend(found)
        elif string.strip():
            dropped.append(string)
    spans = tuple(Span.of(text, s, e) for s, e in _without_overlaps(intervals))
    return Grounded(spans, tuple(dropped))
