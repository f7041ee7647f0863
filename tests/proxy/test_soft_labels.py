"""Training on the annotator's P(true) (an LLM's yes/no token probabilities) teaches the proxy
how sure the teacher was, not only what it decided."""

from __future__ import annotations

from pathlib import Path

import pytest

from falconer.bench.tasks import load_task
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig

pytestmark = pytest.mark.slow
SENTIMENT = "Is this movie review positive?"


def _mean_probability(texts: list[str], soft: bool) -> float:
    # every review annotated "yes", but the teacher was only 65% sure of each
    examples = [Example(t, label=True, probability=0.65) for t in texts]
    proxy = Proxy.from_pretrained("default", threads=2)
    config = TrainConfig(min_steps=60, threads=2, dev_fraction=0.0, soft_labels=soft)
    proxy.fit([TaskData(SENTIMENT, "label", examples)], config=config)
    answers = proxy.get_label(texts, SENTIMENT)
    return sum(a.probability for a in answers) / len(answers)


def test_soft_targets_teach_the_teachers_sureness_and_hard_ones_do_not(bench_dir: Path) -> None:
    task = load_task(bench_dir / "tasks" / "sst2-positive")
    texts = [d.text for d in task.train[:48]]
    soft, hard = _mean_probability(texts, soft=True), _mean_probability(texts, soft=False)
    assert 0.5 < soft < 0.8
    assert hard > 0.9
