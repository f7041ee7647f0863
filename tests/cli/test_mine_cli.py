"""`falconer mine` and `falconer apply` end to end with the embedded LLM and the real proxy."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from falconer.cli.app import app

pytestmark = pytest.mark.slow


def _corpus(bench_dir: Path, folder: Path, name: str, start: int, n: int) -> Path:
    lines = (bench_dir / "tasks" / "conll-persons" / "test.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines[start : start + n]]
    path = folder / name
    path.write_text("".join(json.dumps({"id": r["id"], "text": r["text"]}) + "\n" for r in rows))
    return path


def test_mine_plans_annotates_trains_executes_then_apply_reuses_it_without_llm(
    bench_dir: Path, tmp_path: Path, mine_stages: set[str]
) -> None:
    corpus = _corpus(bench_dir, tmp_path, "news.jsonl", 0, 40)
    run = tmp_path / "run"
    command = [
        "mine",
        "Extract the names of people.",
        "--input",
        str(corpus),
        "--output",
        str(run),
        "--annotate",
        "8",
        "--min-steps",
        "20",
        "--threads",
        "2",
        "--format",
        "jsonl",
        "--target-agreement",
        "0.95",
        "--llm-budget",
        "5",
    ]
    mined = CliRunner().invoke(app, command)
    assert mined.exit_code == 0, mined.output
    report = json.loads((run / "report.json").read_text())
    assert report["mode"] == "mine" and report["llm"] == "embedded"
    assert set(report["seconds"]) == mine_stages | {"teach"}  # the span step's own first fit
    assert report["usage"]["plan"]["calls"] + report["usage"]["plan"]["cache_hits"] >= 1
    assert report["execute"]["documents"] == 40
    assert any(step["op"] == "get_span" for step in report["plan"]["steps"])
    deferred = [step["cascade"]["deferred_to_llm"] for step in report["steps"]]
    assert sum(deferred) <= 5 and "execute" in report["usage"]
    budget = {"limit": 5, "unit": "calls", "spent": sum(deferred)}
    assert all(step["cascade"]["budget"] == budget for step in report["steps"])
    assert f"LLM budget: 5 calls ({sum(deferred)} spent)" in (run / "report.md").read_text()
    assert report["usage"]["execute"]["calls"] + report["usage"]["execute"]["cache_hits"] >= (
        sum(deferred)
    )
    assert all(0.0 <= step["cascade"]["interval"][0] <= 1.0 for step in report["steps"])
    for name in ("plan.json", "proxy/proxy.json", "results.jsonl", "report.md"):
        assert (run / name).is_file(), name
    assert len(list((run / "annotations").glob("*.jsonl"))) == len(report["plan"]["steps"])

    # run again (as after a crash): the reused annotations report what they cost to make
    again = CliRunner().invoke(app, command)
    assert again.exit_code == 0, again.output
    assert "reusing" in again.output
    rerun = json.loads((run / "report.json").read_text())
    assert rerun["usage"]["annotate"] == report["usage"]["annotate"]
    assert rerun["seconds"]["annotate"] >= min(report["seconds"]["annotate"], 0.5) * 0.5

    other = _corpus(bench_dir, tmp_path, "more.jsonl", 40, 30)
    applied = CliRunner().invoke(
        app, ["apply", str(run), "--input", str(other), "--output", str(tmp_path / "applied")]
    )
    assert applied.exit_code == 0, applied.output
    frame = pd.read_parquet(tmp_path / "applied" / "results.parquet")
    assert set(frame["doc_id"]) <= {json.loads(x)["id"] for x in other.read_text().splitlines()}
    assert json.loads((tmp_path / "applied" / "report.json").read_text())["llm"] is None


def test_llm_only_answers_every_document_with_the_llm(bench_dir: Path, tmp_path: Path) -> None:
    corpus = _corpus(bench_dir, tmp_path, "news.jsonl", 100, 6)
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "steps:\n- {id: people, op: get_span, instruction: Extract the names of people.}\n"
        "fields: {people: people}\n"
    )
    result = CliRunner().invoke(
        app,
        [
            "mine",
            "--plan",
            str(plan),
            "--llm-only",
            "--input",
            str(corpus),
            "--output",
            str(tmp_path / "llm"),
            "--threads",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "llm" / "report.json").read_text())
    assert report["mode"] == "llm-only" and report["execute"]["asked"] == {"people": 6}
    frame = pd.read_parquet(tmp_path / "llm" / "results.parquet")
    assert set(frame["model"]) <= {"llm"}


def test_mine_says_what_is_wrong_with_bad_input(tmp_path: Path) -> None:
    missing = CliRunner().invoke(app, ["mine", "x", "--input", str(tmp_path / "nope.jsonl")])
    assert missing.exit_code == 2 and "corpus not found" in missing.output
    bad_plan = tmp_path / "plan.json"
    bad_plan.write_text('{"steps": [], "fields": {}}')
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "hello"}\n')
    refused = CliRunner().invoke(app, ["mine", "--plan", str(bad_plan), "--input", str(corpus)])
    assert refused.exit_code == 2 and "steps" in refused.output
    options = ("--engine", "spark"), ("--runtime", "tensorrt"), ("--format", "xls")
    for option, value in (*options, ("--llm-budget", "lots")):
        wrong = CliRunner().invoke(app, ["mine", "x", "--input", str(corpus), option, value])
        assert wrong.exit_code == 2, wrong.output
        assert option in wrong.output or "LLM budget" in wrong.output, wrong.output
