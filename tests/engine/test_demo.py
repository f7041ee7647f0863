"""The demo end to end: embedded LLM, real proxy, bundled corpus, files a user can open."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from falconer.engine.corpus import bundled_corpus
from falconer.engine.demo import DEMO_PLAN, run_demo
from falconer.engine.mine import MineOptions

pytestmark = pytest.mark.slow


def test_bundled_corpus_is_the_wikigold_sentences() -> None:
    docs = bundled_corpus()
    assert len(docs) == 1696
    assert len({d.id for d in docs}) == 1696


def test_demo_annotates_trains_executes_and_reports(tmp_path: Path, mine_stages: set[str]) -> None:
    options = MineOptions(n_annotate=4, min_steps=20, threads=2, teacher_pool=100)
    report = run_demo(tmp_path / "run", options, log=lambda _: None)
    assert report.execute["documents"] == 1696
    assert [s["id"] for s in report.steps] == [s.id for s in DEMO_PLAN.steps]
    for step in report.steps:
        assert step["annotated"] + step["failed"] == 4
    # the music question was first fitted alone, to teach the proxy both steps share
    assert set(report.seconds) == mine_stages | {"teach"}
    assert report.steps[1]["distilled"]["teacher"] == "the step alone"
    assert (tmp_path / "run" / "step-teachers" / "music" / "proxy.json").is_file()
    assert report.usage["annotate"]["calls"] + report.usage["annotate"]["cache_hits"] > 0
    results = pd.read_parquet(report.outputs["results"])
    labels = results[results["field"] == "about_music"]
    assert len(labels) == 1696 and set(labels["model"]) == {"proxy"}
    texts = {d.id: d.text for d in bundled_corpus()}
    spans = results[results["kind"] == "span"]
    for doc_id, start, end, text in zip(
        spans.doc_id, spans.start, spans.end, spans.text, strict=True
    ):
        assert texts[doc_id][int(start) : int(end)] == text
    count = duckdb.sql(f"select count(*) from '{report.outputs['results']}'").fetchall()
    assert count == [(len(results),)]
    saved = json.loads(Path(report.outputs["report"]).read_text())
    assert saved["execute"]["docs_per_second"] > 0
    assert "# Falconer run" in Path(report.outputs["report_markdown"]).read_text()
    assert (tmp_path / "run" / "proxy" / "proxy.json").is_file()
    people = (tmp_path / "run" / "annotations" / "people.jsonl").read_text().splitlines()
    checked = [json.loads(line)["provenance"]["checks"] for line in people]
    assert checked and all(check.endswith(":person") for check in checked)
