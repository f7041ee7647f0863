from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from falconer.core.errors import InputError
from falconer.core.spans import Span

Kind = Literal["label", "span"]
KINDS: tuple[Kind, ...] = ("label", "span")


@dataclass(frozen=True, slots=True)
class Example:
    """One annotated text: a label for `label` tasks, spans for `span` tasks."""

    text: str
    label: bool | None = None
    spans: tuple[Span, ...] | None = None
    weight: float = 1.0
    # the annotator's P(true) when it gave one (an LLM's yes/no token probabilities): a
    # softer target than the label, for training with `soft_labels`
    probability: float | None = None
    # a teacher proxy's answer (distillation, self-training), not the annotator's: trained on,
    # but no evidence of how often the proxy is right, so no confidence is calibrated on it
    taught: bool = False


@dataclass(frozen=True, slots=True)
class TaskData:
    """The annotated examples of one primitive call: what the proxy learns one instruction from."""

    instruction: str
    kind: Kind
    examples: Sequence[Example]
    # Annotations to choose the checkpoint and fit the temperature on instead of a slice of
    # `examples`: active annotation already holds a random slice out of its rounds, and
    # holding out a second one would train on a fifth less of what it paid for.
    dev: Sequence[Example] = ()

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(f"kind must be one of {KINDS}, got {self.kind!r}")
        if not self.instruction.strip():
            raise InputError("instruction is empty")
        for i, example in enumerate([*self.examples, *self.dev]):
            if self.kind == "label" and example.label is None:
                raise InputError(f"{self.instruction!r}: example {i} has no label")
            if self.kind == "span":
                if example.spans is None:
                    raise InputError(f"{self.instruction!r}: example {i} has no spans")
                bad = [s for s in example.spans if not s.matches(example.text)]
                if bad:
                    raise InputError(
                        f"{self.instruction!r}: example {i} has spans off its text: {bad[0]}"
                    )
