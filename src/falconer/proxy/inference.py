"""Run the network over windows and turn its outputs into one answer per text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from falconer.core.results import LabelResult, SpanResult
from falconer.proxy.batching import collate, length_sorted_batches
from falconer.proxy.config import ProxyConfig
from falconer.proxy.decoding import aggregate_label, decode_spans, merge_word_probabilities
from falconer.proxy.encoding import Encoded, Window
from falconer.proxy.model import ProxyModel


@dataclass(slots=True)
class WindowPredictions:
    label_probabilities: np.ndarray
    tag_probabilities: list[np.ndarray]


def predict_windows(
    model: ProxyModel,
    windows: Sequence[Window],
    pad_id: int,
    batch_size: int,
    on_batch: Callable[[int], None] | None = None,
) -> WindowPredictions:
    """Probabilities for every window, batched by length with dynamic padding."""
    labels = np.zeros(len(windows), dtype=np.float32)
    tags: list[np.ndarray] = [np.zeros((0, 3), dtype=np.float32)] * len(windows)
    was_training = model.training
    model.eval()
    with torch.inference_mode():
        for indices in length_sorted_batches(windows, batch_size):
            chunk = [windows[i] for i in indices]
            output = model(**collate(chunk, pad_id).inputs())
            labels[indices] = torch.sigmoid(output.label_logits).float().numpy()
            tag_probabilities = torch.softmax(output.tag_logits, dim=-1).float().numpy()
            for row, i in enumerate(indices):
                tags[i] = tag_probabilities[row, windows[i].positions]
            if on_batch is not None:
                on_batch(len(indices))
    model.train(was_training)
    return WindowPredictions(labels, tags)


def labels_from(
    encoded: Encoded, predictions: WindowPredictions, config: ProxyConfig
) -> list[LabelResult]:
    return [
        aggregate_label(
            [float(predictions.label_probabilities[w]) for w in doc.windows],
            config.label_aggregation,
            config.label_threshold,
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
