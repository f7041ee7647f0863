from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from falconer.cli.app import app

pytestmark = pytest.mark.slow


def test_bench_proxy_writes_scores_per_task_and_says_the_annotator_is_the_oracle(
    bench_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "proxy.json"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "proxy",
            "--task",
            str(bench_dir / "tasks" / "sst2-positive"),
            "--task",
            str(bench_dir / "tasks" / "conll-persons"),
            "--n",
            "24",
            "--min-steps",
            "8",
            "--max-test",
            "40",
            "--threads",
            "2",
            "--multitask",
            "--no-self-training",
            "--teacher-pool",
            "100",
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "annotator: oracle" in result.output
    payload = json.loads(out.read_text())
    rows = {row["task"]: row for row in payload["results"]}
    assert set(rows) == {"sst2-positive", "conll-persons"}
    for row in rows.values():
        assert {"task", "n", "metric", "score", "train_seconds", "docs_per_second"} <= set(row)
        assert row["annotator"] == "oracle" and row["n"] == 24 and 0.0 <= row["score"] <= 1.0
    assert rows["sst2-positive"]["metric"] == "accuracy"
    assert rows["conll-persons"]["metric"] == "exact_f1"
    assert {(c["text_task"], c["instruction_task"]) for c in payload["cross"]} == set()
    # each task was fitted alone first and answered unlabelled train texts for it
    teachers = rows["sst2-positive"]["train"]["teacher"]
    assert teachers["backbone"] == "each step alone"
    assert set(teachers["scores"]) == {"sst2-positive", "conll-persons"}
    assert teachers["taught"]["sst2-positive"]["taught"] == 100
    people = teachers["taught"]["conll-persons"]  # its unsure answers left out
    assert people["taught"] + people.get("left_out_unsure", 0) == 100


def test_bench_proxy_refuses_a_folder_that_is_not_a_task(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "proxy", "--task", str(tmp_path)])
    assert result.exit_code != 0
    assert "no task.json" in result.output


def test_bench_proxy_distils_a_teacher_s_answers_on_unlabelled_train_texts_into_the_proxy(
    bench_dir: Path, tmp_path: Path
) -> None:
    options = ["--max-test", "20", "--distil-from", "default", "--distil-pool", "24"]
    row, _ = _quick_sst2_bench(bench_dir, tmp_path, options)
    teacher = row["train"]["teacher"]
    assert teacher["backbone"] == "default" and 0.0 <= teacher["scores"]["sst2-positive"] <= 1.0
    assert teacher["taught"]["sst2-positive"]["taught"] == 24
    assert row["train"]["n_train"] + row["train"]["n_dev"] == 16 + 24  # labels and its answers


def test_a_yes_no_task_is_taught_by_its_first_fit_only_when_unannotated_texts_remain(
    bench_dir: Path, tmp_path: Path
) -> None:
    source = bench_dir / "tasks" / "sst2-positive"
    task = tmp_path / "sst2-small"
    task.mkdir()
    (task / "task.json").write_text((source / "task.json").read_text())
    train = (source / "train.jsonl").read_text().splitlines()[:40]
    (task / "train.jsonl").write_text("\n".join(train) + "\n")
    (task / "test.jsonl").write_text(
        "\n".join((source / "test.jsonl").read_text().splitlines()[:20])
    )

    def teacher(n: int) -> dict[str, Any] | None:
        out = tmp_path / f"n{n}.json"
        args = ["bench", "proxy", "--task", str(task), "--n", str(n), "--min-steps", "4"]
        result = CliRunner().invoke(app, [*args, "--threads", "2", "--json", str(out)])
        assert result.exit_code == 0, result.output
        row = json.loads(out.read_text())["results"][0]
        assert row["n"] == n
        return row["train"].get("teacher")

    taught = teacher(24)  # 16 train texts left: the first fit answers them for the second
    assert taught is not None and taught["taught"]["sst2-positive"]["taught"] == 40 - 24
    assert teacher(40) is None  # every train text annotated: nothing to teach, one fit


def test_each_task_starts_from_a_proxy_trained_on_the_other_tasks_once_per_run(
    bench_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "warm.json"
    tasks = [str(bench_dir / "tasks" / name) for name in ("sst2-positive", "conll-persons")]
    arguments = ["bench", "proxy", "--task", tasks[0], "--task", tasks[1], "--n", "16"]
    arguments += ["--min-steps", "4", "--max-test", "20", "--threads", "2", "--seed", "0"]
    arguments += ["--seed", "1", "--no-step-teachers", "--warm-from-others", "--json", str(out)]
    result = CliRunner().invoke(app, arguments)
    assert result.exit_code == 0, result.output
    rows = json.loads(out.read_text())["results"]
    warm = {(row["task"], row["seed"]): row["train"]["warm_start"] for row in rows}
    assert set(warm) == {(t, s) for t in ("sst2-positive", "conll-persons") for s in (0, 1)}
    assert warm["sst2-positive", 0]["from_tasks"] == ["conll-persons"]
    assert warm["conll-persons", 0]["from_tasks"] == ["sst2-positive"]
    # the second seed starts from the same warm proxy instead of training another
    assert warm["sst2-positive", 1] == warm["sst2-positive", 0]
    assert result.output.count("warm start for") == 2
    for row in rows:
        assert row["backbone"] == "default" and 0.0 <= row["score"] <= 1.0


def test_a_warm_start_from_the_other_tasks_needs_two_tasks_scored_alone(bench_dir: Path) -> None:
    task = str(bench_dir / "tasks" / "sst2-positive")
    alone = CliRunner().invoke(app, ["bench", "proxy", "--task", task, "--warm-from-others"])
    together = CliRunner().invoke(
        app, ["bench", "proxy", "--task", task, "--task", task, "--multitask", "--warm-from-others"]
    )
    for result in (alone, together):
        assert result.exit_code != 0
        assert "two --task folders" in result.output


def test_a_guarded_int8_run_reports_the_share_of_test_windows_it_answered_again_in_fp32(
    bench_dir: Path, tmp_path: Path
) -> None:
    options = ["--max-test", "40", "--no-step-teachers", "--runtime", "onnx-int8"]
    row, printed = _quick_sst2_bench(bench_dir, tmp_path, options)
    assert row["train"]["runtime"] == "onnx-int8", printed
    share = row["train"]["recomputed_share"]
    assert 0.0 <= share <= 1.0 and round(share * 40, 6).is_integer()  # of the 40 test reviews
    output = " ".join(printed.split())  # the check's share is logged before the test's
    said = re.search(r"docs/s \(([\d.]+)% of windows recomputed in fp32\)", output)
    assert said is not None and abs(float(said.group(1)) - 100 * share) <= 0.06


def _quick_sst2_bench(
    bench_dir: Path, tmp_path: Path, options: list[str]
) -> tuple[dict[str, Any], str]:
    """A few-step sst2 run of `bench proxy` on 16 labels: its one result row and what it printed."""
    out = tmp_path / "quick.json"
    task = str(bench_dir / "tasks" / "sst2-positive")
    arguments = ["bench", "proxy", "--task", task, "--n", "16", "--min-steps", "4"]
    result = CliRunner().invoke(app, [*arguments, "--threads", "2", *options, "--json", str(out)])
    assert result.exit_code == 0, result.output
    (row,) = json.loads(out.read_text())["results"]
    return row, result.output
