"""Does matching the annotated span rate on unlabelled texts lift exact span F1?

A few-label span proxy often predicts more spans per text than its annotations hold (persons
seeds 1-2: 1,838-1,943 predicted against 1,617 gold). The annotated sample is a random draw
of the corpus, so its spans per text estimate the corpus rate; this fits the bias on the O
tag that makes the proxy predict that rate on unlabelled pool texts, and scores the test
split with and without it (oracle annotator, the benchmark's own sampling).

    python scripts/experiments/span_rate_offset.py TASK_DIR SEED [SEED ...]
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

import numpy as np

from falconer.bench.proxy_bench import ProxyBench
from falconer.bench.tasks import load_task
from falconer.core.metrics import score_spans
from falconer.core.spans import Span
from falconer.proxy.decoding import decode_spans, merge_word_probabilities
from falconer.proxy.encoding import Encoded
from falconer.proxy.inference import WindowLogits, text_logits

POOL = 1000


def spans_at(texts: Sequence[str], encoded: Encoded, logits: WindowLogits, bias: float) -> list:
    shift = np.array([bias, 0.0, 0.0])
    out = []
    for text, doc in zip(texts, encoded.docs, strict=True):
        rows = [(encoded.windows[w].words, _softmax(logits.tags[w] + shift)) for w in doc.windows]
        words, probabilities = merge_word_probabilities(doc, rows)
        out.append(decode_spans(text, doc, words, probabilities).spans)
    return out


def _softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def fit_bias(texts: Sequence[str], encoded: Encoded, logits: WindowLogits, rate: float) -> float:
    low, high = -6.0, 6.0  # more O bias -> fewer spans
    for _ in range(20):
        middle = (low + high) / 2
        predicted = sum(len(s) for s in spans_at(texts, encoded, logits, middle)) / len(texts)
        low, high = (middle, high) if predicted > rate else (low, middle)
    return round((low + high) / 2, 3)


def main(task_dir: str, seeds: Sequence[int]) -> None:
    task = load_task(task_dir)
    rows = []
    for seed in seeds:
        bench = ProxyBench([task], 256, [seed], threads=2)
        proxy, _, _ = bench._train([task], seed)
        annotated, rest = task.sample(256, seed)
        rate = sum(len(d.spans or ()) for d in annotated) / len(annotated)
        pool = [d.text for d in rest[:POOL]]
        args = (proxy.runtime, proxy.tokenizer, proxy.config, task.instruction)
        pool_encoded, pool_logits = text_logits(*args, pool)
        bias = fit_bias(pool, pool_encoded, pool_logits, rate)
        test = list(task.test)
        texts = [d.text for d in test]
        encoded, logits = text_logits(*args, texts)
        gold = [tuple(d.spans or ()) for d in test]
        row: dict[str, object] = {"task": task.name, "seed": seed, "annotated_rate": rate}
        for name, b in (("plain", 0.0), ("rate_matched", bias)):
            predicted: list[Sequence[Span]] = spans_at(texts, encoded, logits, b)
            scores = score_spans(predicted, gold)
            row[name] = {
                "bias": b,
                "f1": round(scores.f1, 4),
                "precision": round(scores.precision, 4),
                "recall": round(scores.recall, 4),
                "n_predicted": scores.n_predicted,
            }
        print(json.dumps(row), flush=True)
        rows.append(row)


if __name__ == "__main__":
    main(sys.argv[1], [int(s) for s in sys.argv[2:]])
