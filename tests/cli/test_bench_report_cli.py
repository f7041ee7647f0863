"""`falconer bench report`: several e2e runs in one report."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from falconer.cli.app import app

SAMPLE = Path(__file__).parents[1] / "bench" / "data" / "e2e-sample.json"


def _run_file(folder: Path, name: str, task: str, seed: int, machine: str) -> Path:
    run = json.loads(SAMPLE.read_text())
    run["machine"] = machine
    run["tasks"] = [{**t, "task": task, "seed": seed} for t in run["tasks"]]
    path = folder / name
    path.write_text(json.dumps(run))
    return path


def test_runs_of_other_tasks_and_seeds_share_one_report(tmp_path: Path) -> None:
    first = _run_file(tmp_path, "a.json", "sst2-positive", 0, "machine A")
    second = _run_file(tmp_path, "b.json", "laptop-aspects", 1, "machine B")
    merged = tmp_path / "merged.json"
    report = tmp_path / "report.html"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "report",
            str(first),
            str(second),
            "--report",
            str(report),
            "--json",
            str(merged),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = report.with_suffix(".md").read_text()
    assert "| sst2-positive (seed 0) |" in summary and "| laptop-aspects (seed 1) |" in summary
    assert "machine A | machine B" in summary
    assert [t["task"] for t in json.loads(merged.read_text())["tasks"]] == [
        "sst2-positive",
        "laptop-aspects",
    ]
    assert "data:image/png;base64," in report.read_text()


def test_a_file_that_is_no_e2e_run_is_named_in_a_clear_error(tmp_path: Path) -> None:
    good = _run_file(tmp_path, "a.json", "sst2-positive", 0, "machine A")
    wrong = tmp_path / "proxy.json"
    wrong.write_text(json.dumps([{"task": "sst2-positive", "score": 0.8}]))
    missing = tmp_path / "missing.json"
    for bad, says in ((wrong, "not a `falconer bench e2e --json` file"), (missing, "missing.json")):
        result = CliRunner().invoke(
            app, ["bench", "report", str(good), str(bad), "--report", str(tmp_path / "r.html")]
        )
        assert result.exit_code == 2
        # the error is wrapped to the terminal's width, where a long tmp_path moves the breaks
        assert says in " ".join(result.output.split())
    assert not (tmp_path / "r.html").exists()


def test_the_report_says_what_each_task_ran_with(tmp_path: Path) -> None:
    plain = _run_file(tmp_path, "plain.json", "laptop-aspects", 0, "machine A")
    taught = json.loads(_run_file(tmp_path, "t.json", "criticized", 0, "machine A").read_text())
    options = {"active_start": 80, "active_step": 60}
    taught["tasks"] = [
        {**t, "active": True, "distil_from": "mpnet", "span_type": "person", "options": options}
        for t in taught["tasks"]
    ]
    (tmp_path / "t.json").write_text(json.dumps(taught))
    report = tmp_path / "report.html"
    args = ["bench", "report", str(plain), str(tmp_path / "t.json"), "--report", str(report)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = report.with_suffix(".md").read_text()
    assert "| settings |" in summary
    assert "| active 80+60, taught by mpnet, person spans |" in summary
    assert "| laptop-aspects (seed 0) | 6 | 8 | - |" in summary  # nothing beyond annotation
    assert "active 80+60, taught by mpnet" in report.read_text()
