"""The contrastive warm-up: pairs built from the labels, and an encoder that afterwards places
unseen texts with the same answer closer together than texts with different answers."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import torch

from falconer.bench.tasks import load_task
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.config import ProxyConfig
from falconer.proxy.contrastive import (
    Pair,
    embed_windows,
    first_windows,
    label_pairs,
    make_pairs,
    warm_up,
)
from falconer.proxy.encoding import Window

SENTIMENT = "Is this movie review positive?"


def _window(doc: int) -> Window:
    return Window(doc, [101, doc, 102], None, [1], [0])


def test_every_text_gets_one_same_and_one_other_partner_per_round() -> None:
    windows = [_window(i) for i in range(6)]
    labels = [True, True, True, False, False, False]
    pairs = make_pairs(windows, labels, 3, random.Random(0))
    assert len(pairs) == 6 * 3 * 2
    for pair in pairs:
        same_answer = labels[pair.first.doc] == labels[pair.second.doc]
        assert pair.same == same_answer
    for window in windows:
        own = [p for p in pairs if p.first is window]
        assert sum(p.same for p in own) == 3 and sum(not p.same for p in own) == 3


def test_no_pairs_when_an_answer_has_fewer_than_two_texts() -> None:
    windows = [_window(i) for i in range(4)]
    assert make_pairs(windows, [True, False, False, False], 5, random.Random(0)) == []


def _similarity_gap(proxy: Proxy, positives: list[str], negatives: list[str]) -> float:
    """Mean cosine of all same-answer pairs minus that of all different-answer pairs."""
    texts = positives + negatives
    windows = first_windows(proxy.tokenizer, SENTIMENT, texts, ProxyConfig())
    with torch.inference_mode():
        embeddings = embed_windows(proxy.model, windows, proxy.tokenizer.pad_token_id)
    cosines = embeddings @ embeddings.T
    answers = torch.tensor([True] * len(positives) + [False] * len(negatives))
    same = answers[:, None] == answers[None, :]
    others = ~torch.eye(len(texts), dtype=torch.bool)
    return float(cosines[same & others].mean() - cosines[~same].mean())


@pytest.mark.slow
def test_warm_up_separates_unseen_reviews_by_sentiment(bench_dir: Path) -> None:
    task = load_task(bench_dir / "tasks" / "sst2-positive")
    positives = [d.text for d in task.test if d.label]
    negatives = [d.text for d in task.test if not d.label]
    proxy = Proxy.from_pretrained("default", threads=2)
    before = _similarity_gap(proxy, positives[100:130], negatives[100:130])

    examples = [Example(t, label=True) for t in positives[:48]] + [
        Example(t, label=False) for t in negatives[:48]
    ]
    pairs = label_pairs(proxy.tokenizer, SENTIMENT, examples, ProxyConfig(), 4, random.Random(0))
    assert all(isinstance(p, Pair) for p in pairs) and len(pairs) == 96 * 4 * 2
    torch.manual_seed(0)  # dropout
    steps = warm_up(proxy.model, pairs, proxy.tokenizer.pad_token_id, 2e-4)
    assert steps == len(pairs) // 16

    after = _similarity_gap(proxy, positives[100:130], negatives[100:130])
    assert after > before + 0.05


@pytest.mark.slow
def test_fit_warms_up_label_steps_only_within_twice_their_min_steps(bench_dir: Path) -> None:
    task = load_task(bench_dir / "tasks" / "sst2-positive")
    rows = task.train[:40]
    label_step = TaskData(SENTIMENT, "label", [Example(d.text, label=d.label) for d in rows])
    span_step = TaskData(
        "Extract the names of people.", "span", [Example("Ann met Bob.", spans=())]
    )
    proxy = Proxy.from_pretrained("default", threads=2)
    config = TrainConfig(min_steps=20, threads=2, dev_fraction=0.0, contrastive_pairs=2)
    report = proxy.fit([label_step, span_step], config=config)
    assert report.contrastive_steps == 40 * 2 * 2 // 16  # the span step adds no pairs
    config = TrainConfig(min_steps=2, threads=2, dev_fraction=0.0, contrastive_pairs=2)
    assert proxy.fit([label_step], config=config).contrastive_steps == 2 * 2
