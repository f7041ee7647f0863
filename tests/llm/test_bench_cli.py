"""`bench-annotator` end to end against the fake server: scores, cost and speed reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_server import FakeLLMServer
from typer.testing import CliRunner

from falconer.cli.annotate import app

TASKS = Path(__file__).resolve().parents[2].parent / "shared" / "bench" / "tasks"


@pytest.mark.parametrize("task", ["conll-persons", "sst2-positive"])
def test_bench_annotator_reports_quality_calls_tokens_and_speed(
    task: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not (TASKS / task).is_dir():
        pytest.skip(f"benchmark data not found at {TASKS}")
    monkeypatch.setenv("FALCONER_CACHE_DIR", str(tmp_path))
    out = tmp_path / "result.json"
    with FakeLLMServer() as server:
        result = CliRunner().invoke(
            app,
            ["bench-annotator", "--task", str(TASKS / task), "--n", "15",
             "--llm", f"openai-compatible:{server.url}#fake", "--json", str(out)],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["n"] == 15 and report["llm_calls"] == 15 and report["failed"] == 0
    assert report["prompt_tokens"] == 15 * 50 and report["docs_per_second"] > 0
    metric = "f1" if task == "conll-persons" else "accuracy"
    assert 0.0 <= report["scores"][metric] <= 1.0


def test_annotate_reads_any_corpus_format_with_its_text_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALCONER_CACHE_DIR", str(tmp_path))
    corpus = tmp_path / "reviews.csv"
    corpus.write_text("key;body\nr1;A good screen.\nr2;A dull keyboard.\nr3;Good keys.\n")
    out = tmp_path / "labels.jsonl"
    with FakeLLMServer() as server:
        result = CliRunner().invoke(
            app,
            ["annotate", str(corpus), "-i", "Is it good?", "--n", "10", "--out", str(out),
             "--text-field", "body", "--id-field", "key",
             "--llm", f"openai-compatible:{server.url}#fake"],
        )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "holds 3 documents; annotating them all" in " ".join(result.stderr.split())
    rows = {row["id"]: row["label"] for row in map(json.loads, out.read_text().splitlines())}
    assert rows == {"r1": True, "r2": False, "r3": False}  # the fake says yes to "good" only
