from __future__ import annotations

from dataclasses import dataclass

from falconer.core.spans import Span


@dataclass(frozen=True, slots=True)
class LabelResult:
    """Answer of `get_label` for one text: the decision and P(true) behind it."""

    value: bool
    probability: float
    source: str | None = None  # who answered when it is not the answerer itself (a cascade)

    @property
    def confidence(self) -> float:
        """Probability of the decision actually taken (>= 0.5 with the default threshold)."""
        return self.probability if self.value else 1.0 - self.probability


@dataclass(frozen=True, slots=True)
class SpanResult:
    """Answer of `get_span` for one text: spans in text order, each with its confidence, and
    the confidence of the whole answer (of its least sure word: spans found and not found)."""

    spans: tuple[Span, ...]
    confidence: float = 1.0
    source: str | None = None  # who answered when it is not the answerer itself (a cascade)

    @property
    def texts(self) -> list[str]:
        return [span.text for span in self.spans]
