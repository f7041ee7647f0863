"""`falconer adapt` from the command line: sample, pre-train, write the folder and a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from falconer.cli.app import app
from falconer.engine.corpus import bundled_corpus_path


@pytest.mark.slow
def test_adapt_command_samples_the_corpus_and_reports_as_json(tmp_path: Path) -> None:
    out, report = tmp_path / "adapted", tmp_path / "adapt.json"
    result = CliRunner().invoke(
        app,
        [
            "adapt",
            "--input",
            str(bundled_corpus_path()),
            "--out",
            str(out),
            "--sample",
            "16",
            "--epochs",
            "1",
            "--head-steps",
            "2",
            "--threads",
            "2",
            "--json",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(report.read_text())
    assert summary["texts"] == 16 and summary["config"]["epochs"] == 1
    assert (out / "model.safetensors").is_file() and (out / "tokenizer.json").is_file()
    assert "--backbone" in result.output


def test_adapt_refuses_a_missing_corpus(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["adapt", "--input", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2 and "corpus not found" in result.output


def test_adapt_refuses_a_learning_rate_of_zero_before_reading_the_corpus(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app,
        [
            "adapt",
            "--input",
            str(tmp_path / "none.jsonl"),
            "--out",
            str(tmp_path / "o"),
            "--learning-rate",
            "0",
        ],
    )
    assert result.exit_code == 2 and "learning rates > 0" in result.output
    assert not (tmp_path / "o").exists()
