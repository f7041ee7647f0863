"""`bench-annotator` end to end against the fake server: scores, cost and speed reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fake_server import FakeLLMServer
from typer.testing import CliRunner

from falconer.cli.annotate import app
from falconer.core.errors import InputError

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


def test_annotate_refuses_an_out_that_is_a_folder_before_asking_the_llm(tmp_path: Path) -> None:
    corpus = tmp_path / "reviews.jsonl"
    corpus.write_text('{"text": "A good screen."}\n')
    never_asked = "openai-compatible:http://127.0.0.1:9/v1#m"
    command = ["annotate", str(corpus), "-i", "Is it good?", "--llm", never_asked]
    result = CliRunner().invoke(app, [*command, "--out", str(tmp_path)])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert "is a folder: name the JSONL file to write" in str(result.exception)


def test_annotate_draws_the_same_sample_of_a_larger_corpus_for_the_same_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALCONER_CACHE_DIR", str(tmp_path))
    corpus = tmp_path / "reviews.jsonl"
    lines = [json.dumps({"id": f"r{i}", "text": f"Review {i} is good."}) for i in range(500)]
    corpus.write_text("\n".join(lines) + "\n")
    drawn = []
    with FakeLLMServer() as server:
        for out in (tmp_path / "a.jsonl", tmp_path / "b.jsonl"):
            result = CliRunner().invoke(
                app,
                ["annotate", str(corpus), "-i", "Is it good?", "--n", "7", "--out", str(out),
                 "--llm", f"openai-compatible:{server.url}#fake"],
            )  # fmt: skip
            assert result.exit_code == 0, result.output
            drawn.append([json.loads(line)["id"] for line in out.read_text().splitlines()])
    assert drawn[0] == drawn[1] and len(set(drawn[0])) == 7
