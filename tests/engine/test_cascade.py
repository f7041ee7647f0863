"""The cascade: thresholds from held-out agreement, and the LLM answering what the proxy is
least sure of, within the budget, with the provenance in the results."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from falconer.annotator.annotator import Annotator
from falconer.core.documents import Document
from falconer.engine.answerers import LLMAnswerer
from falconer.engine.cascade import (
    EVERYTHING,
    CascadeAnswerer,
    Deferrals,
    budget_cut,
    choose_threshold,
    wilson,
)
from falconer.engine.executor import PlanExecutor
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.plan.schema import Plan
from falconer.proxy import Proxy


def test_the_threshold_defers_the_fewest_documents_whose_interval_clears_the_target() -> None:
    # 200 held-out answers: the proxy's 20 disagreements are its 40 least sure, half each
    confidences = [0.5 + i / 400 for i in range(200)]
    agrees = [i >= 40 or i % 2 == 0 for i in range(200)]
    threshold = choose_threshold(confidences, agrees, 0.95)
    deferred = round(threshold.deferred_share * 200)
    assert threshold.certified and threshold.interval[0] >= 0.95
    assert threshold.value == confidences[deferred]
    one_fewer = deferred - 1 + sum(agrees[deferred - 1 :])
    assert wilson(one_fewer, 200)[0] < 0.95  # deferring one document less is not certified
    assert choose_threshold(confidences, agrees, 0.5).value == 0.0  # no deferral needed


def test_a_small_held_out_sample_certifies_nothing_and_defers_everything() -> None:
    # 30 of 30 agreeing: the point estimate is 1.0, the interval's lower end 0.886
    threshold = choose_threshold([0.9] * 30, [True] * 30, 0.95)
    assert threshold.value == EVERYTHING and not threshold.certified
    assert threshold.estimated_agreement == 1.0 and threshold.interval[0] < 0.95
    assert choose_threshold([], [], 0.95).value == EVERYTHING  # no evidence at all


def test_the_budget_goes_to_the_least_sure_answers_of_all_steps() -> None:
    unsure = [0.51, 0.55, 0.7, 0.9, 0.52, 0.6]  # of a label and a span step, in a sample
    # a sample of 1 in 10 corpus documents: 6 unsure answers there are ~60 calls in all
    assert budget_cut(unsure, 10.0, 60) is None
    assert budget_cut(unsure, 10.0, 30) == 0.6  # 0.51, 0.52, 0.55 (x10) fill 30 calls
    assert budget_cut(unsure, 10.0, 0) == 0.51  # nothing is below the least sure


def test_a_document_the_llm_answered_once_gets_every_later_step_from_it() -> None:
    texts = ["a", "b", "c", "d"]
    per_document = Deferrals(budget=2, per_document=True)
    assert per_document.choose([0.9, 0.4, 0.6, 0.3], texts, "label", 0.7) == [1, 3]
    assert per_document.over_budget == {"label": 1}  # "c" was unsure too: no budget left
    # the span step of b, c, d: b and d are the LLM's already and cost nothing more
    assert per_document.choose([0.95, 0.95, 0.95], ["b", "c", "d"], "span", 0.7) == [0, 2]
    assert per_document.spent == 2 and per_document.deferred == {"label": 2, "span": 2}

    per_call = Deferrals(budget=3)
    assert per_call.choose([0.9, 0.4, 0.6, 0.3], texts, "label", 0.5) == [1, 3]
    assert per_call.choose([0.95, 0.2], ["b", "c"], "span", 0.5) == [0]  # b first: 1 call left
    assert per_call.spent == 3 and per_call.over_budget == {"label": 0, "span": 1}


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
    deferrals = cascade.deferrals
    assert deferrals.deferred == {sentiment: 3} and deferrals.over_budget == {sentiment: 9}
