"""`falconer bench e2e --suite`: several tasks in one run, each with its own settings, and a
bad setting refused before the first task spends any time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from falconer.bench.e2e_bench import E2EOptions
from falconer.bench.e2e_suite import load_suite
from falconer.cli.app import app
from falconer.core.errors import InputError

COMMITTED_SUITE = Path(__file__).parents[2] / "scripts" / "e2e-suite.toml"


def _suite(tmp_path: Path, bench_dir: Path, *entries: str) -> Path:
    """A suite file in `tmp_path` whose `{tasks}` paths point at the benchmark's tasks."""
    path = tmp_path / "suite.toml"
    text = "\n".join(f"[[tasks]]\n{entry}\n" for entry in entries)
    path.write_text(text.replace("{tasks}", str(bench_dir / "tasks")))
    return path


def test_each_suite_task_overrides_only_what_it_sets(bench_dir: Path) -> None:
    base = E2EOptions(seed=3, llm="embedded", runtime="torch")
    laptop, persons, sst2, criticized = load_suite(COMMITTED_SUITE, base, (50,))
    assert laptop.folder.resolve() == (bench_dir / "tasks" / "laptop-aspects").resolve()
    assert laptop.sizes == (100,) and laptop.options == base
    assert persons.options.span_type == "person" and persons.options.max_docs == 200
    assert persons.options.distil_from == "mpnet" and sst2.sizes == (300,)
    assert criticized.options.active and criticized.options.active_step == 60
    # the run's seed and runtime hold for every task
    assert {t.options.seed for t in (laptop, persons, sst2, criticized)} == {3}
    assert {t.options.runtime for t in (laptop, persons, sst2, criticized)} == {"torch"}


def test_a_task_without_annotate_runs_at_the_commands_sizes(
    tmp_path: Path, bench_dir: Path
) -> None:
    suite = _suite(
        tmp_path,
        bench_dir,
        'path = "{tasks}/sst2-positive"',
        'path = "{tasks}/agnews-sports"\nannotate = [8, 16]',
    )
    plain, curve = load_suite(suite, E2EOptions(), (20, 40))
    assert plain.sizes == (20, 40) and curve.sizes == (8, 16)


@pytest.mark.parametrize(
    ("entry", "says"),
    [
        (
            'path = "{tasks}/sst2-positive"\nannotat = 100',
            "annotat: Extra inputs are not permitted",
        ),
        ('path = "{tasks}/no-such-task"', "has no task.json"),
        ('path = "{tasks}/sst2-positive"\nannotate = 2', "annotate sizes must be >= 4"),
        ('path = "{tasks}/sst2-positive"\nmax_docs = 0', "max_docs"),
        ('path = "{tasks}/sst2-positive"\nannotate = 10\n[oops', "is not TOML"),
    ],
)
def test_a_wrong_suite_is_refused_naming_what_is_wrong(
    tmp_path: Path, bench_dir: Path, entry: str, says: str
) -> None:
    with pytest.raises(InputError, match=says):
        load_suite(_suite(tmp_path, bench_dir, entry), E2EOptions(), (100,))


def test_a_bad_last_task_stops_the_run_before_the_first_starts(
    tmp_path: Path, bench_dir: Path
) -> None:
    suite = _suite(
        tmp_path,
        bench_dir,
        'path = "{tasks}/sst2-positive"',
        'path = "{tasks}/conll-persons"\nspan_type = "animal"',
    )
    workdir = tmp_path / "runs"
    result = CliRunner().invoke(
        app, ["bench", "e2e", "--suite", str(suite), "--workdir", str(workdir)]
    )
    assert result.exit_code == 2
    assert "animal" in result.output and not workdir.exists()


def test_one_task_given_twice_is_refused_as_it_would_share_a_run_folder(
    tmp_path: Path, bench_dir: Path
) -> None:
    suite = _suite(tmp_path, bench_dir, 'path = "{tasks}/sst2-positive"\nannotate = 300')
    sst2 = bench_dir / "tasks" / "sst2-positive"
    args = ["bench", "e2e", "--task", str(sst2), "--suite", str(suite)]
    result = CliRunner().invoke(app, [*args, "--workdir", str(tmp_path / "runs")])
    assert result.exit_code == 2 and "given twice" in result.output


@pytest.mark.slow
def test_a_suite_runs_each_task_with_its_own_settings_and_records_them(
    tmp_path: Path, bench_dir: Path
) -> None:
    suite = _suite(
        tmp_path,
        bench_dir,
        'path = "{tasks}/sst2-positive"\nmax_docs = 3\nannotate = 8',
        'path = "{tasks}/agnews-sports"\nmax_docs = 4\nannotate = 12\nmin_steps = 12',
    )
    out = tmp_path / "e2e.json"
    args = ["bench", "e2e", "--suite", str(suite), "--annotator", "oracle", "--seed", "1"]
    args += ["--min-steps", "10", "--threads", "2", "--runtime", "torch"]
    result = CliRunner().invoke(
        app, [*args, "--workdir", str(tmp_path / "runs"), "--json", str(out)]
    )
    assert result.exit_code == 0, result.output
    sst2, agnews = json.loads(out.read_text())["tasks"]
    assert (sst2["task"], sst2["documents"], agnews["task"], agnews["documents"]) == (
        "sst2-positive",
        3,
        "agnews-sports",
        4,
    )
    assert [r["n_annotate"] for r in sst2["falconer"]] == [8]
    assert [r["n_annotate"] for r in agnews["falconer"]] == [12]
    assert sst2["options"]["min_steps"] == 10 and agnews["options"]["min_steps"] == 12
    assert sst2["seed"] == agnews["seed"] == 1
    assert agnews["llm_only"]["run"]["usage"]["execute"]["calls"] == 4
