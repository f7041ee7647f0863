"""The console script reports a bad input that no command catches itself in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from falconer.cli.app import app
from falconer.engine.run_folder import locked_run_folder


def test_a_pipeline_task_given_to_bench_inference_is_one_error_line_not_a_traceback(
    bench_dir: Path, tmp_path: Path
) -> None:
    task = bench_dir / "tasks" / "laptop-aspects-in-criticized"
    command = [sys.executable, "-m", "falconer", "bench", "inference"]
    command += ["--proxy", str(tmp_path), "--task", str(task)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 2
    assert "error:" in finished.stderr and "is not a single primitive" in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout


def test_a_missing_corpus_file_is_one_error_line_and_exit_status_2_under_cli_runner(
    tmp_path: Path,
) -> None:
    missing = tmp_path / "no-such-corpus.jsonl"
    result = CliRunner().invoke(app, ["annotate", str(missing), "-i", "Is it about music?"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and missing.name in lines[0]


def test_a_folder_that_is_no_run_is_reported_not_raised(bench_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "report.json").write_text("{}")
    task = bench_dir / "tasks" / "sst2-positive"
    result = CliRunner().invoke(app, ["bench", "score", str(tmp_path), "--task", str(task)])
    assert result.exit_code == 2
    assert "error:" in result.output and "not a Falconer run or task" in result.output


def test_mine_on_a_corpus_without_the_text_field_says_which_fields_it_has_before_any_llm_call(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "reviews.jsonl"
    corpus.write_text('{"body": "Great screen."}\n{"body": "Slow."}\n\n')
    run = ["mine", "Is it positive?", "--input", str(corpus), "--output", str(tmp_path / "run")]
    result = CliRunner().invoke(app, [*run, "--llm", "openai:gpt-4o-mini"])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert "every record read (2) was rejected: no 'text' field (fields: body) (2x)" in line
    assert "choose another with --text-field" in line
    assert not (tmp_path / "run" / "plan.json").exists()


def test_mine_on_an_empty_corpus_says_it_holds_no_records(tmp_path: Path) -> None:
    corpus = tmp_path / "empty.jsonl"
    corpus.write_text("")
    run = ["mine", "Is it positive?", "--input", str(corpus), "--output", str(tmp_path / "run")]
    result = CliRunner().invoke(app, run)
    assert result.exit_code == 2
    assert f"no documents in {corpus}: it holds no records" in " ".join(result.output.split())


def test_mine_with_a_mistyped_backbone_folder_fails_before_planning(tmp_path: Path) -> None:
    corpus = tmp_path / "reviews.jsonl"
    corpus.write_text('{"text": "Great screen."}\n')
    run = ["mine", "Is it positive?", "--input", str(corpus), "--output", str(tmp_path / "run")]
    never_asked = "openai-compatible:http://127.0.0.1:9/v1#m"
    missing = str(tmp_path / "encoders" / "mini")
    result = CliRunner().invoke(app, [*run, "--llm", never_asked, "--backbone", missing])
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line == f"error: backbone folder not found: {missing}"
    assert not (tmp_path / "run" / "plan.json").exists()


def test_mine_into_a_file_or_below_one_says_so_before_planning(tmp_path: Path) -> None:
    corpus = tmp_path / "reviews.jsonl"
    corpus.write_text('{"text": "Great screen."}\n')
    taken = tmp_path / "notes.txt"
    taken.write_text("not a run folder")
    never_asked = "openai-compatible:http://127.0.0.1:9/v1#m"
    mine = ["mine", "Is it positive?", "--input", str(corpus), "--llm", never_asked]
    result = CliRunner().invoke(app, [*mine, "--output", str(taken)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: output folder {taken} is a file"
    inside = taken / "run"
    result = CliRunner().invoke(app, [*mine, "--output", str(inside)])
    assert result.exit_code == 2
    assert f"{taken} is a file, not a folder" in result.output
    assert taken.read_text() == "not a run folder"


def test_mine_into_a_folder_inside_its_corpus_folder_is_refused_before_planning(
    tmp_path: Path,
) -> None:
    (tmp_path / "reviews.jsonl").write_text('{"text": "Great screen."}\n')
    never_asked = "openai-compatible:http://127.0.0.1:9/v1#m"
    mine = ["mine", "Is it positive?", "--input", str(tmp_path), "--llm", never_asked]
    result = CliRunner().invoke(app, [*mine, "--output", str(tmp_path / "runs" / "first")])
    assert result.exit_code == 2
    assert "lies inside the corpus folder" in " ".join(result.output.split())
    assert not (tmp_path / "runs").exists()


def test_a_second_run_on_a_folder_in_use_is_refused_and_a_finished_one_frees_it(
    tmp_path: Path,
) -> None:
    corpus = tmp_path / "reviews.jsonl"
    corpus.write_text('{"text": "Great screen."}\n')
    run = tmp_path / "run"
    never_asked = "openai-compatible:http://127.0.0.1:9/v1#m"
    mine = ["mine", "Is it positive?", "--input", str(corpus), "--llm", never_asked]
    with locked_run_folder(run, corpus):  # what a running `mine` holds
        result = CliRunner().invoke(app, [*mine, "--output", str(run)])
        assert result.exit_code == 2
        assert f"in use by another falconer run (pid {os.getpid()})" in result.output
    with locked_run_folder(run, corpus):  # released with the block, as at a run's end
        pass
