"""A proxy regressed on an unsure teacher's P(yes) shrinks toward the mean; its decisions are
re-centred so that it says yes about as often as the teacher did, instead of never."""

from __future__ import annotations

from pathlib import Path

import pytest

from falconer.bench.tasks import load_task
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig

pytestmark = pytest.mark.slow
SENTIMENT = "Is this movie review positive?"


def test_soft_targets_barely_above_one_half_still_give_yes_answers(
    bench_dir: Path, tmp_path: Path
) -> None:
    task = load_task(bench_dir / "tasks" / "sst2-positive")
    positives = [d.text for d in task.train if d.label]
    negatives = [d.text for d in task.train if not d.label]
    # a teacher that says yes to one review in four, never surer than 0.56
    annotated = [Example(t, label=True, probability=0.56) for t in positives[:16]] + [
        Example(t, label=False, probability=0.3) for t in negatives[:48]
    ]
    proxy = Proxy.from_pretrained("default", threads=2)
    config = TrainConfig(min_steps=80, threads=2, dev_fraction=0.0)
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
    task = load_task(bench_dir / "tasks" / "sst2-positive")
    positives = [d.text for d in task.train if d.label]
    negatives = [d.text for d in task.train if not d.label]
    # a teacher that says yes to one review in eight
    annotated = [Example(t, label=True, probability=0.55) for t in positives[:8]] + [
        Example(t, label=False, probability=0.35) for t in negatives[:56]
    ]
    unannotated = positives[200:260] + negatives[200:300]
    proxy = Proxy.from_pretrained("default", threads=2)
    config = TrainConfig(min_steps=80, threads=2, dev_fraction=0.0, offset_on_unlabeled=True)
    task_data = TaskData(SENTIMENT, "label", annotated)
    proxy.fit([task_data], {SENTIMENT: unannotated}, config=config)
    said_yes = [a.value for a in proxy.get_label(unannotated, SENTIMENT)]
    assert sum(said_yes) == round(len(unannotated) / 8)  # 20 of 160
    assert sum(said_yes[:60]) > sum(said_yes[60:])  # mostly the positive reviews
