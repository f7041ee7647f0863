"""The cascade: thresholds from held-out agreement, and the LLM answering what the proxy is
least sure of, within the budget, with the provenance in the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from falconer.annotator.annotator import Annotator
from falconer.core.documents import Document
from falconer.engine.answerers import LLMAnswerer
from falconer.engine.cascade import EVERYTHING, CascadeAnswerer, choose_threshold, wilson
from falconer.engine.executor import PlanExecutor
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.plan.schema import Plan
from falconer.proxy import Proxy


def test_the_threshold_defers_the_fewest_documents_that_reach_the_target() -> None:
    confidences = [0.99, 0.95, 0.9, 0.8, 0.7, 0.6, 0.55, 0.52]
    agrees = [True, True, True, False, True, False, False, True]
    threshold = choose_threshold(confidences, agrees, 0.85)
    assert threshold.value == 0.7 and threshold.deferred_share == 3 / 8
    assert threshold.estimated_agreement == 0.875
    low, high = threshold.interval
    assert low < 0.875 < high
    assert choose_threshold(confidences, agrees, 0.5).value == 0.0  # no deferral needed
    assert choose_threshold([0.9], [False], 0.95).value == EVERYTHING


def test_wilson_interval_narrows_with_more_evidence() -> None:
    small, large = wilson(9, 10), wilson(900, 1000)
    assert small[0] < large[0] < 0.9 < large[1] < small[1]


@pytest.mark.slow
def test_the_llm_answers_the_least_sure_documents_within_the_budget(
    small_proxy: Proxy, bench_dir: Path, instructions: tuple[str, str]
) -> None:
    sentiment = instructions[0]
    lines = (bench_dir / "tasks" / "sst2-positive" / "test.jsonl").read_text().splitlines()
    docs = [Document(r["id"], r["text"]) for r in map(json.loads, lines[:12])]
    llm = LLMAnswerer(Annotator(LLMClient(create_backend("embedded", threads=2))))
    cascade = CascadeAnswerer(small_proxy, llm, {sentiment: EVERYTHING}, budget=3)
    plan = Plan.parse(
        {
            "steps": [{"id": "positive", "op": "get_label", "instruction": sentiment}],
            "fields": {"positive": "positive"},
        }
    )
    rows = PlanExecutor(plan, cascade).run(docs).rows
    by_llm = [row.doc_id for row in rows if row.model == "llm"]
    assert len(by_llm) == 3 and {row.model for row in rows} == {"llm", "proxy"}
    alone = small_proxy.get_label([d.text for d in docs], sentiment)
    least_sure = sorted(range(len(docs)), key=lambda i: alone[i].confidence)[:3]
    assert sorted(by_llm) == sorted(docs[i].id for i in least_sure)
    assert cascade.deferred == {sentiment: 3} and cascade.over_budget == {sentiment: 9}
