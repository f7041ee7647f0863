"""Run the network over windows and turn its outputs into one answer per text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from falconer.core.results import LabelResult, SpanResult
from falconer.proxy.batching import collate, length_sorted_batches
from falconer.proxy.config import ProxyConfig
from falconer.proxy.decoding import aggregate_label, decode_spans, merge_word_probabilities
from falconer.proxy.encoding import Encoded, Window, encode
from falconer.proxy.model import ProxyModel
from falconer.proxy.runtimes import GuardedInt8Runtime, Runtime, TorchRuntime


@dataclass(slots=True)
class WindowPredictions:
    label_probabilities: np.ndarray
    tag_probabilities: list[np.ndarray]


@dataclass(slots=True)
class WindowLogits:
    """The network's raw outputs per window (tags at each word's first sub-token only)."""

    label: np.ndarray
    tags: list[np.ndarray]

    def label_probabilities(self, temperature: float = 1.0, offset: float = 0.0) -> np.ndarray:
        return _sigmoid((self.label - offset) / temperature)

    def probabilities(self, temperature: float = 1.0, offset: float = 0.0) -> WindowPredictions:
        """Probabilities with the logits divided by `temperature` (1: as trained), the label
        logits first shifted by `offset` (0: as trained)."""
        return WindowPredictions(
            self.label_probabilities(temperature, offset),
            [_softmax(t / temperature) for t in self.tags],
        )


def window_logits(
    runtime: Runtime | ProxyModel,
    windows: Sequence[Window],
    pad_id: int,
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> WindowLogits:
    """Logits for every window, batched by length with dynamic padding."""
    run = TorchRuntime(runtime) if isinstance(runtime, ProxyModel) else runtime
    labels = np.zeros(len(windows), dtype=np.float32)
    tags: list[np.ndarray] = [np.zeros((0, 3), dtype=np.float32)] * len(windows)
    for indices in length_sorted_batches(windows, batch_size):
        label_logits, tag_logits = run(collate([windows[i] for i in indices], pad_id))
        labels[indices] = label_logits
        for row, i in enumerate(indices):
            tags[i] = tag_logits[row, windows[i].positions]
        if on_batch is not None:
            on_batch(len(indices))
    return WindowLogits(labels, tags)


def text_logits(
    runtime: Runtime | ProxyModel,
    tokenizer: Any,
    config: ProxyConfig,
    instruction: str,
    texts: Sequence[str],
    batch_size: int = 64,
) -> tuple[Encoded, WindowLogits]:
    """Window every text under one instruction and run the network over the windows."""
    encoded = encode(
        tokenizer, [instruction] * len(texts), list(texts), config.max_length, config.stride
    )
    pad_id = int(tokenizer.pad_token_id or 0)
    logits = window_logits(runtime, encoded.windows, pad_id, batch_size)
    if isinstance(runtime, GuardedInt8Runtime):
        wanted = borderline_windows(
            logits,
            config.kinds.get(instruction, "label"),
            decision_logit(config, instruction),
            runtime.margin(instruction),
        )
        redo = [encoded.windows[i] for i in wanted]
        if redo:
            fixed = window_logits(runtime.reference, redo, pad_id, batch_size)
            replace_windows(logits, wanted, fixed)
        runtime.count(len(encoded.windows), len(redo))
    return encoded, logits


def decision_logit(config: ProxyConfig, instruction: str) -> float:
    """The raw label logit at which a window's answer turns from no to yes."""
    threshold = config.threshold(instruction)
    temperature = config.temperatures.get(instruction, 1.0)
    offset = config.label_offsets.get(instruction, 0.0)
    return offset + temperature * float(np.log(threshold / (1.0 - threshold)))


def borderline_windows(
    logits: WindowLogits, kind: str, decision: float, margin: float
) -> np.ndarray:
    """Indices of the windows whose answer a change of less than `margin` to each logit could
    flip: a label logit that close to the decision, or a word whose two likeliest tags are
    less than two margins apart (each may move by one)."""
    if kind == "label":
        return np.flatnonzero(np.abs(logits.label - decision) < margin)
    gaps = np.asarray([_smallest_tag_gap(tags) for tags in logits.tags], dtype=np.float64)
    return np.flatnonzero(gaps < 2 * margin)


def replace_windows(logits: WindowLogits, indices: np.ndarray, other: WindowLogits) -> None:
    """Put `other`'s logits (computed for the windows at `indices`, in order) in their place."""
    logits.label[indices] = other.label
    for row, i in enumerate(indices):
        logits.tags[int(i)] = other.tags[row]


def select_windows(logits: WindowLogits, indices: np.ndarray) -> WindowLogits:
    """The logits of the windows at `indices`, in order (what `replace_windows` puts back)."""
    return WindowLogits(logits.label[indices], [logits.tags[int(i)] for i in indices])


def _smallest_tag_gap(tags: np.ndarray) -> float:
    if len(tags) == 0:
        return float("inf")
    ordered = np.sort(tags, axis=1)
    return float((ordered[:, -1] - ordered[:, -2]).min())


def predict_texts(
    runtime: Runtime | ProxyModel,
    tokenizer: Any,
    config: ProxyConfig,
    instruction: str,
    texts: Sequence[str],
    batch_size: int = 64,
) -> tuple[Encoded, WindowPredictions]:
    """`text_logits` turned into probabilities with the instruction's calibrated temperature
    and decision offset."""
    encoded, logits = text_logits(runtime, tokenizer, config, instruction, texts, batch_size)
    return encoded, calibrated(logits, config, instruction)


def calibrated(logits: WindowLogits, config: ProxyConfig, instruction: str) -> WindowPredictions:
    """Probabilities with the instruction's calibrated temperature and decision offset."""
    return logits.probabilities(
        config.temperatures.get(instruction, 1.0), config.label_offsets.get(instruction, 0.0)
    )


def _sigmoid(logits: np.ndarray) -> np.ndarray:
    return np.asarray(1.0 / (1.0 + np.exp(-logits.astype(np.float64))), dtype=np.float32)


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=-1, keepdims=True))
    return np.asarray(shifted / shifted.sum(axis=-1, keepdims=True), dtype=np.float32)


def labels_from(
    encoded: Encoded, predictions: WindowPredictions, config: ProxyConfig, instruction: str
) -> list[LabelResult]:
    return [
        aggregate_label(
            [float(predictions.label_probabilities[w]) for w in doc.windows],
            config.label_aggregation,
            config.threshold(instruction),
        )
        for doc in encoded.docs
    ]


def spans_from(
    texts: Sequence[str], encoded: Encoded, predictions: WindowPredictions
) -> list[SpanResult]:
    results = []
    for text, doc in zip(texts, encoded.docs, strict=True):
        window_words = [
            (encoded.windows[w].words, predictions.tag_probabilities[w]) for w in doc.windows
        ]
        words, probabilities = merge_word_probabilities(doc, window_words)
        results.append(decode_spans(text, doc, words, probabilities))
    return results
