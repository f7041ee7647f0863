"""What each training window is taught: a yes/no target (hard, smoothed or the annotator's
stretched P(yes)) with a class-balance weight, or a tag per word of the text.

Items are the unit the trainer mixes: annotated examples, their augmented copies, pseudo-labels,
and cross-instruction negatives, each with a weight; one item's text may span several windows,
all taught the same label and their own share of the word tags.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from falconer.core.spans import Span
from falconer.core.tasks import Example, Kind, TaskData
from falconer.proxy.config import TrainConfig
from falconer.proxy.encoding import IGNORE, TAG_O, Encoded, EncodedDoc, word_tags


@dataclass(slots=True)
class TrainItem:
    """One text under one instruction with what it is taught and how much it counts."""

    instruction: str
    kind: Kind
    text: str
    label: bool | None
    spans: tuple[Span, ...] | None
    weight: float
    probability: float | None = None
    # a cross negative under a span instruction: only the words of `spans` (another task's
    # answers in this text) are known to be no answer to it; the other words are not trained
    ruled_out_only: bool = False


@dataclass(slots=True)
class WindowTargets:
    """Per window: the yes/no target (NaN: none), its class-balance weight and the item's
    weight; per item: the tag of each word (None: not a span item)."""

    labels: torch.Tensor
    label_balance: torch.Tensor
    weights: torch.Tensor
    tags: list[dict[int, int] | None]
    stretch: dict[str, float]  # instruction -> factor its annotator's logits were stretched by


def train_items(task: TaskData, examples: Sequence[Example], weight: float) -> list[TrainItem]:
    return [
        TrainItem(
            task.instruction, task.kind, e.text, e.label, e.spans, weight * e.weight, e.probability
        )
        for e in examples
    ]


def ruled_out(instruction: str, example: Example, weight: float) -> TrainItem:
    """`example`'s text under another span instruction: its answers are none of that one's."""
    return TrainItem(
        instruction, "span", example.text, None, example.spans, weight, ruled_out_only=True
    )


def window_targets(
    items: Sequence[TrainItem],
    encoded: Encoded,
    smoothing: float,
    soft: bool = False,
    spread: float | None = None,
) -> WindowTargets:
    """Per-window label target (NaN where none), class-balance weight, and per-doc word tags;
    with `soft`, the annotator's P(true) is the target where it gave one (its logit stretched
    to `spread` per instruction when given)."""
    n = len(encoded.windows)
    stretch = teacher_stretch(items, spread) if soft and spread else {}
    labels = torch.full((n,), float("nan"))
    balance = torch.ones(n)
    weights = torch.ones(n)
    positive_share = _positive_share(items)
    for w, window in enumerate(encoded.windows):
        item = items[window.doc]
        weights[w] = item.weight
        if item.kind == "label" and item.label is not None:
            if soft and item.probability is not None:
                labels[w] = stretched(item.probability, stretch.get(item.instruction, 1.0))
            else:
                labels[w] = float(item.label) * (1 - smoothing) + smoothing / 2
            share = positive_share[item.instruction]
            raw = 0.5 / share if item.label else 0.5 / (1 - share)
            balance[w] = min(max(raw, 0.33), 3.0)
    tags = [
        _tags(doc, item) if item.kind == "span" and item.spans is not None else None
        for doc, item in zip(encoded.docs, items, strict=True)
    ]
    return WindowTargets(labels, balance, weights, tags, stretch)


def _tags(doc: EncodedDoc, item: TrainItem) -> dict[int, int]:
    tags = word_tags(doc, item.spans or ())
    if item.ruled_out_only:
        return {word: TAG_O if tag != TAG_O else IGNORE for word, tag in tags.items()}
    return tags


def teacher_stretch(items: Sequence[TrainItem], spread: float) -> dict[str, float]:
    """Per instruction, the factor that gives the annotator's logits a standard deviation of at
    least `spread` about 0: an unsure teacher's P(yes) all sit near 0.5, and a target that
    barely varies teaches the ranking weakly; logit 0 stays put, so its yes/no answers do too.
    A surer teacher is left as it is."""
    logits: dict[str, list[float]] = {}
    for item in items:
        if item.kind == "label" and item.probability is not None and item.weight >= 1.0:
            logits.setdefault(item.instruction, []).append(logit(item.probability))
    return {
        k: max(1.0, spread / float(np.std(v)))
        for k, v in logits.items()
        if len(v) > 1 and np.std(v) > 1e-6
    }


def soft_stretches(items: Sequence[TrainItem], stretch: Mapping[str, float]) -> dict[str, float]:
    """Per label instruction whose annotator gave its P(yes), the factor its targets were
    stretched by (1.0: as given)."""
    return {
        item.instruction: stretch.get(item.instruction, 1.0)
        for item in items
        if item.kind == "label" and item.probability is not None and item.weight >= 1.0
    }


def logit(probability: float) -> float:
    p = min(max(probability, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def stretched(probability: float, factor: float) -> float:
    return 1.0 / (1.0 + math.exp(-factor * logit(probability)))


def soft_targets(config: TrainConfig, rows: Sequence[TrainItem] | Sequence[Example]) -> bool:
    """Whether a fit learns the annotator's P(true) anywhere (its rate and offset depend on it)."""
    return config.soft_labels and any(row.probability is not None for row in rows)


def _positive_share(items: Sequence[TrainItem]) -> dict[str, float]:
    counts: dict[str, list[int]] = {}
    for item in items:
        if item.kind == "label" and item.weight >= 1.0:
            entry = counts.setdefault(item.instruction, [0, 0])
            entry[0] += bool(item.label)
            entry[1] += 1
    shares = {k: min(max(p / n, 0.05), 0.95) for k, (p, n) in counts.items()}
    return {item.instruction: shares.get(item.instruction, 0.5) for item in items}
