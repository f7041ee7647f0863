"""The label steps a plan's filter lets documents through on get an F1-chosen threshold,
fitted on unannotated corpus texts and saved with the run's proxy; other steps keep 0.5."""

from __future__ import annotations

from pathlib import Path

from falconer.bench.tasks import load_task
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.report import RunReport
from falconer.engine.run_folder import PROXY_DIR
from falconer.plan.schema import Plan
from falconer.proxy import Proxy

SENTIMENT = "Is this movie review positive?"  # the filter step of the `plan` fixture


def _reviews(bench_dir: Path) -> list[str]:
    return [d.text for d in load_task(bench_dir / "tasks" / "sst2-positive").test[:80]]


def test_a_filter_step_gets_a_threshold_saved_with_the_proxy(
    tmp_path: Path, small_proxy_dir: Path, bench_dir: Path, plan: Plan
) -> None:
    proxy = Proxy.from_pretrained(small_proxy_dir, threads=2)
    proxy.save_pretrained(tmp_path / PROXY_DIR)  # as training leaves it for the run
    reviews = _reviews(bench_dir)
    before = [a.value for a in proxy.get_label(reviews, SENTIMENT)]
    miner = Miner(tmp_path, MineOptions())
    thresholds = miner._fit_filter_thresholds(plan, proxy, {SENTIMENT: reviews})
    assert set(thresholds) == {"positive"}
    threshold = thresholds["positive"]
    answers = proxy.get_label(reviews, SENTIMENT)
    assert [a.value for a in answers] == [a.probability >= threshold for a in answers]
    assert sum(a.value for a in answers) >= sum(before)  # F1 never keeps fewer than P >= 0.5
    saved = Proxy.from_pretrained(tmp_path / PROXY_DIR, threads=2)
    assert [a.value for a in saved.get_label(reviews, SENTIMENT)] == [a.value for a in answers]


def test_negated_filter_steps_and_too_few_texts_keep_the_default_threshold(
    tmp_path: Path, small_proxy_dir: Path, bench_dir: Path, plan: Plan
) -> None:
    proxy = Proxy.from_pretrained(small_proxy_dir, threads=2)
    reviews = _reviews(bench_dir)
    miner = Miner(tmp_path, MineOptions())
    negated = Plan.parse({**plan.to_neutral(), "filter": "not positive"})
    assert miner._fit_filter_thresholds(negated, proxy, {SENTIMENT: reviews}) == {}
    assert miner._fit_filter_thresholds(plan, proxy, {SENTIMENT: reviews[:10]}) == {}
    assert proxy.config.label_thresholds == {}
    assert not (tmp_path / PROXY_DIR).exists()


def test_the_run_report_says_where_a_filter_step_lets_documents_through(plan: Plan) -> None:
    steps = [
        {"id": "positive", "op": "get_label", "filter_threshold": 0.2813},
        {"id": "people", "op": "get_span"},
    ]
    text = RunReport("mine", "corpus.jsonl", plan.to_neutral(), steps=steps).markdown()
    assert "positive lets documents through the filter at P(yes) >= 0.281" in text
    assert "people lets" not in text
