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
