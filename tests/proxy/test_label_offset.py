"""A proxy regressed on an unsure teacher's P(yes) shrinks toward the mean; its decisions are
re-centred so that it says yes about as often as the teacher did, instead of never."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from falconer.bench.tasks import load_task
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig

pytestmark = pytest.mark.slow
SENTIMENT = "Is this movie review positive?"


def _sst2_reviews(bench_dir: Path) -> tuple[list[str], list[str]]:
    task = load_task(bench_dir / "tasks" / "sst2-positive")
    return [d.text for d in task.train if d.label], [d.text for d in task.train if not d.label]


def _unsure_teacher(
    positives: list[str], negatives: list[str], yes: tuple[int, float], no: tuple[int, float]
) -> list[Example]:
    """The first `yes[0]` positive reviews at P(yes) `yes[1]`, the first `no[0]` negative ones at
    `no[1]`: an annotator that is right but never sure."""
    return [Example(t, label=True, probability=yes[1]) for t in positives[: yes[0]]] + [
        Example(t, label=False, probability=no[1]) for t in negatives[: no[0]]
    ]


def test_soft_targets_barely_above_one_half_still_give_yes_answers(
    bench_dir: Path, tmp_path: Path
) -> None:
    positives, negatives = _sst2_reviews(bench_dir)
    # a teacher that says yes to one review in four, never surer than 0.56
    annotated = _unsure_teacher(positives, negatives, yes=(16, 0.56), no=(48, 0.3))
    proxy = Proxy.from_pretrained("default", threads=2)
    # the targets as given, decisions centred on the annotated texts
    config = TrainConfig(
        min_steps=80, threads=2, dev_fraction=0.0, soft_label_spread=None, offset_on_unlabeled=False
    )
    report = proxy.fit([TaskData(SENTIMENT, "label", annotated)], config=config)
    assert report.label_offsets[SENTIMENT] < 0  # outputs had shrunk under 0.5

    unseen = positives[100:130] + negatives[100:130]
    answers = proxy.get_label(unseen, SENTIMENT)
    said_yes = [a.value for a in answers]
    assert 5 <= sum(said_yes) <= 45
    assert sum(said_yes[:30]) > 2 * sum(said_yes[30:])  # the yes-answers go to positive reviews

    offset = proxy.config.label_offsets.pop(SENTIMENT)
    assert sum(a.value for a in proxy.get_label(unseen, SENTIMENT)) < sum(said_yes)
    proxy.config.label_offsets[SENTIMENT] = offset
    proxy.save_pretrained(tmp_path / "proxy")
    reloaded = Proxy.from_pretrained(tmp_path / "proxy", threads=2)
    assert [a.value for a in reloaded.get_label(unseen, SENTIMENT)] == said_yes


def test_with_unannotated_texts_the_proxy_says_yes_to_the_teachers_share_of_them(
    bench_dir: Path,
) -> None:
    positives, negatives = _sst2_reviews(bench_dir)
    # a teacher that says yes to one review in eight
    annotated = _unsure_teacher(positives, negatives, yes=(8, 0.55), no=(56, 0.35))
    unannotated = positives[200:260] + negatives[200:300]
    proxy = Proxy.from_pretrained("default", threads=2)
    config = TrainConfig(min_steps=80, threads=2, dev_fraction=0.0)  # centred on unannotated
    task_data = TaskData(SENTIMENT, "label", annotated)
    proxy.fit([task_data], {SENTIMENT: unannotated}, config=config)
    said_yes = [a.value for a in proxy.get_label(unannotated, SENTIMENT)]
    assert sum(said_yes) == round(len(unannotated) / 8)  # 20 of 160
    assert sum(said_yes[:60]) > sum(said_yes[60:])  # mostly the positive reviews

    # read back on the teacher's own scale (what a teacher proxy hands on), its P(yes) are
    # near the 0.55 and 0.35 it was taught, though the stretched targets were ~0.7 and ~0.1
    assert proxy.config.target_stretches[SENTIMENT] > 2
    estimates = proxy.annotator_probabilities([e.text for e in annotated], SENTIMENT)
    yes, no = np.mean(estimates[:8]), np.mean(estimates[8:])
    assert abs(yes - 0.55) < 0.08 and abs(no - 0.35) < 0.05
