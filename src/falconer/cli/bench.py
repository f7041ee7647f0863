"""`falconer bench ...`: commands that print measured figures (and write them as JSON)."""

from __future__ import annotations

import json
import os
import platform
import statistics
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from falconer.annotator.active import ActiveOptions
from falconer.bench.active_bench import ActiveBench, ActiveBenchResult
from falconer.bench.e2e_bench import E2EBench, E2EOptions
from falconer.bench.e2e_report import merge_runs, summary_markdown, write_report
from falconer.bench.e2e_suite import SuiteTask, load_suite
from falconer.bench.inference_bench import bench_inference
from falconer.bench.planning_bench import bench_planning, load_set
from falconer.bench.proxy_bench import (
    CrossResult,
    ProxyBench,
    ProxyBenchResult,
    warm_start_problem,
)
from falconer.bench.run_scoring import compare, gold_answers, run_folder_answers
from falconer.bench.tasks import load_task
from falconer.cli.options import (
    ACTIVE,
    ACTIVE_START,
    ACTIVE_STEP,
    BACKBONE,
    DISTIL_FROM,
    JSON_OUT,
    LLM,
    LLM_THREADS,
    MIN_STEPS,
    NO_CACHE,
    SEED,
    SPAN_TYPE,
    STEP_TEACHERS,
    TEACHER_POOL,
    one_of,
)
from falconer.cli.progress import training_progress
from falconer.core.errors import InputError
from falconer.engine.acceleration import RUNTIME_CHOICES
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.planner import Planner
from falconer.proxy import Proxy
from falconer.proxy.runtimes import RUNTIMES

bench_app = typer.Typer(
    help="Benchmarks on ../shared/bench-style task folders.",
    no_args_is_help=True,
    rich_markup_mode="markdown",
)
console = Console()


@bench_app.command("proxy")
def bench_proxy(
    task: list[Path] = typer.Option(
        ..., "--task", help="Task folder (task.json, train.jsonl, test.jsonl); repeatable."
    ),
    n: int = typer.Option(256, "--n", min=4, help="Annotated train documents per task."),
    annotator: str = typer.Option(
        "oracle", "--annotator", help="Only 'oracle' (gold labels) here."
    ),
    seed: list[int] = typer.Option([0], "--seed", help="Seed; repeat for several (mean reported)."),
    multitask: bool = typer.Option(
        False, "--multitask", help="Train one proxy on all tasks together."
    ),
    backbone: str = BACKBONE,
    self_training: bool = typer.Option(
        False,
        "--self-training/--no-self-training",
        help="Also self-train on the unlabelled rest of the train pool (doubles training time).",
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="Torch CPU threads."),
    max_test: int | None = typer.Option(
        None, "--max-test", min=1, help="Score only the first K test documents (quick checks)."
    ),
    min_steps: int | None = typer.Option(
        None, "--min-steps", min=1, help="Override the minimum optimizer steps."
    ),
    contrastive_pairs: int | None = typer.Option(
        None,
        "--contrastive-pairs",
        min=0,
        help="Contrastive warm-up pairs per labelled text of a label task (0: off).",
    ),
    runtime: str = typer.Option(
        "torch",
        "--runtime",
        help=f"What the scored proxy runs on: {', '.join(RUNTIMES)} (any but torch after it "
        "agrees with torch on >= 99% of held-out texts).",
    ),
    distil_from: str | None = DISTIL_FROM,
    distil_pool: int = typer.Option(
        4000, "--distil-pool", min=1, help="Most unlabelled train texts the teacher answers."
    ),
    step_teachers: bool = STEP_TEACHERS,
    teacher_pool: int = TEACHER_POOL,
    warm_from_others: bool = typer.Option(
        False,
        "--warm-from-others",
        help="Start each task's proxy from one first trained on the other --task tasks (N "
        "each, seed 0; a proxy that already learned other instructions). Not with --multitask.",
    ),
    json_out: Path | None = JSON_OUT,
) -> None:
    """Fine-tune the proxy on N oracle-annotated documents and score it on the test split."""
    if annotator != "oracle":
        raise typer.BadParameter(
            "only the oracle annotator is available in `bench proxy`", param_hint="--annotator"
        )
    problem = warm_start_problem(warm_from_others, multitask, len(task))
    if problem:
        raise typer.BadParameter(problem, param_hint="--warm-from-others")
    try:
        tasks = [load_task(path) for path in task]
    except InputError as error:
        raise typer.BadParameter(str(error), param_hint="--task") from error
    if runtime not in RUNTIMES:
        raise typer.BadParameter(f"choose one of {', '.join(RUNTIMES)}", param_hint="--runtime")
    overrides: dict[str, int] = {"min_steps": min_steps} if min_steps else {}
    if contrastive_pairs is not None:
        overrides["contrastive_pairs"] = contrastive_pairs
    console.print(
        f"[bold]annotator: oracle[/bold] (gold answers of {n} train documents per task "
        "stand in for the LLM)"
    )
    with training_progress() as progress:
        results, crosses = ProxyBench(
            tasks,
            n,
            seed,
            backbone=backbone,
            multitask=multitask,
            self_training=self_training,
            threads=threads,
            max_test=max_test,
            train_overrides=overrides,
            runtime=runtime,
            distil_from=distil_from,
            distil_pool=distil_pool,
            step_teachers=step_teachers,
            teacher_pool=teacher_pool,
            warm_from_others=warm_from_others,
            save=partial(_write_json, json_out) if json_out else lambda results, crosses: None,
            log=console.print,
            progress=progress,
        ).run()
    console.print(_summary(results))
    if json_out:
        console.print(f"results written to {json_out}")
    if crosses:
        console.print(_cross_table(crosses))


@bench_app.command("active")
def bench_active_command(
    task: list[Path] = typer.Option(..., "--task", help="Task folder; repeatable."),
    start: int = typer.Option(64, "--start", min=8, help="First, random round per task."),
    step: int = typer.Option(32, "--step", min=1, help="Documents added per later round."),
    budget: int = typer.Option(160, "--budget", min=8, help="Annotations per task at most."),
    compare: list[int] = typer.Option(
        [256], "--compare", min=4, help="Random sample sizes to compare with; repeatable."
    ),
    min_gain: float = typer.Option(
        -1.0, "--min-gain", help="Stop at a plateau gaining less than this (-1: never)."
    ),
    pool: int = typer.Option(1000, "--pool", min=1, help="Unannotated documents scored a round."),
    explore: float = typer.Option(
        0.0, "--explore", min=0.0, max=1.0, help="Share of each round drawn at random."
    ),
    seed: int = SEED,
    threads: int | None = typer.Option(None, "--threads", min=1, help="Torch CPU threads."),
    min_steps: int = typer.Option(300, "--min-steps", min=1, help="Least training steps."),
    max_test: int | None = typer.Option(
        None, "--max-test", min=1, help="Score on the first N test documents only."
    ),
    json_out: Path | None = JSON_OUT,
) -> None:
    """Active annotation against random annotation, oracle annotator, scored on test."""
    try:
        tasks = [load_task(path) for path in task]
        options = ActiveOptions(
            start=start,
            step=step,
            budget=budget,
            pool=pool,
            min_gain=min_gain,
            explore=explore,
            seed=seed,
        )
        options.check()
    except InputError as error:
        raise typer.BadParameter(str(error)) from error
    console.print("[bold]annotator: oracle[/bold] (gold answers of train documents)")

    def save(results: list[ActiveBenchResult]) -> None:
        if json_out:
            _write_payload(json_out, {"results": [r.to_dict() for r in results]})

    with training_progress() as progress:
        results = ActiveBench(
            tasks,
            options,
            compare,
            threads=threads,
            min_steps=min_steps,
            max_test=max_test,
            log=console.print,
            progress=progress,
        ).run(save)
    table = Table(title="active vs random annotation, oracle annotator (test split)")
    for column in ("task", "metric", "active curve (annotations: score)", "random", "reached"):
        table.add_column(column)
    for r in results:
        curve = ", ".join(f"{p['annotated']}: {p['test_score']:.3f}" for p in r.curve)
        randoms = ", ".join(f"{n}: {score:.3f}" for n, score in r.random.items())
        table.add_row(r.task, r.metric, curve, randoms, str(r.reached_with or "no"))
    console.print(table)


@bench_app.command("inference")
def bench_inference_command(
    proxy_dir: Path = typer.Option(
        ..., "--proxy", help="A trained proxy folder (save_pretrained)."
    ),
    task: Path = typer.Option(..., "--task", help="Task folder whose test texts are timed."),
    runtime: list[str] = typer.Option(RUNTIMES, "--runtime", help="Runtimes to time; repeatable."),
    threads: int = typer.Option(2, "--threads", min=1, help="CPU threads."),
    json_out: Path | None = JSON_OUT,
) -> None:
    """Documents/second of a trained proxy on a task's test texts, per runtime."""
    unknown = sorted(set(runtime) - set(RUNTIMES))
    if unknown:
        raise typer.BadParameter(f"unknown runtime {unknown}", param_hint="--runtime")
    bench_task = load_task(task)
    proxy = Proxy.from_pretrained(proxy_dir, threads=threads)
    results = bench_inference(proxy, bench_task, list(runtime), threads)
    table = Table(title=f"inference on {bench_task.name} test ({results[0].n_docs} docs)")
    columns = ("runtime", "used", "docs/s", "agreement (held-out)", "agreement (test)", "note")
    for column in columns:
        table.add_column(column)
    for r in results:
        table.add_row(
            r.runtime,
            str(r.used),
            f"{r.docs_per_second:.0f}",
            _share(r.agreement),
            _share(r.test_agreement),
            r.reason,
        )
    console.print(table)
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps([r.to_dict() for r in results], indent=2))


def _share(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


@bench_app.command("planning")
def bench_planning_command(
    set_path: Path = typer.Option(..., "--set", help="JSONL of instructions with reference plans."),
    llm: str = LLM,
    threads: int = LLM_THREADS,
    no_cache: bool = NO_CACHE,
    json_out: Path | None = JSON_OUT,
) -> None:
    """Plan every instruction of the set with the LLM; score plans against the references."""
    rows = load_set(set_path)
    cache = None if no_cache else ResponseCache(default_cache_path())
    planner = Planner(LLMClient(create_backend(llm, threads=threads), cache=cache))
    results, summary = bench_planning(rows, planner, log=console.print)
    for row in results:
        if not row.correct:
            console.print(f"[bold]{row.id}[/bold] {row.instruction}")
            console.print(
                f"  predicted: {json.dumps(row.predicted) if row.predicted else row.error}"
            )
            for reference in row.references:
                console.print(f"  reference: {json.dumps(reference)}")
    console.print(
        f"plan accuracy {summary['plan_accuracy']:.3f} ({sum(r.correct for r in results)}/"
        f"{len(results)}), step P {summary['step_precision']:.3f} R {summary['step_recall']:.3f} "
        f"F1 {summary['step_f1']:.3f}"
    )
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"summary": summary, "plans": [r.to_dict() for r in results]}
        json_out.write_text(json.dumps(payload, indent=2))


def _write_json(path: Path, results: list[ProxyBenchResult], crosses: list[CrossResult]) -> None:
    """Rewritten after every trained model, so a crash loses at most the model in training."""
    payload = {"results": [r.to_dict() for r in results], "cross": [c.to_dict() for c in crosses]}
    _write_payload(path, payload)


def _write_payload(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial_path = path.with_suffix(".partial")
    partial_path.write_text(json.dumps(payload, indent=2))
    partial_path.replace(path)


def _summary(results: list[ProxyBenchResult]) -> Table:
    table = Table(title="proxy, oracle annotator (test split)")
    for column in ("task", "n", "metric", "score (mean)", "sd", "seeds", "train s", "docs/s"):
        table.add_column(column)
    for name in dict.fromkeys(r.task for r in results):
        rows = [r for r in results if r.task == name]
        scores = [r.score for r in rows]
        table.add_row(
            name,
            str(rows[0].n),
            rows[0].metric,
            f"{statistics.mean(scores):.4f}",
            f"{statistics.stdev(scores):.4f}" if len(scores) > 1 else "-",
            str(len(rows)),
            f"{statistics.mean(r.train_seconds for r in rows):.0f}",
            f"{statistics.mean(r.docs_per_second for r in rows):.0f}",
        )
    return table


def _cross_table(crosses: list[CrossResult]) -> Table:
    table = Table(title="another task's instruction on these texts (lower is better)")
    for column in ("texts of", "instruction of", "seed", "predicted", "precision vs texts' gold"):
        table.add_column(column)
    for c in crosses:
        table.add_row(
            c.text_task,
            c.instruction_task,
            str(c.seed),
            str(c.n_predicted),
            f"{c.precision_against_text_task:.3f}",
        )
    return table


@bench_app.command("e2e")
def bench_e2e_command(
    task: list[Path] = typer.Option([], "--task", help="Task folder; repeatable."),
    suite: Path | None = typer.Option(
        None,
        "--suite",
        help="A TOML file of tasks, each with its own settings (annotate, max_docs, "
        "span_type, distil_from, active...; see falconer.bench.e2e_suite), run after any "
        "--task under this command's seed, LLM and runtime.",
    ),
    llm: str = typer.Option("embedded", "--llm", help="LLM spec for both sides."),
    annotate: list[int] = typer.Option(
        [100], "--annotate", min=4, help="Annotations per step; repeat for a quality curve."
    ),
    annotator: str = typer.Option(
        "llm", "--annotator", help="llm, or oracle (gold train labels; reported as such)."
    ),
    max_docs: int | None = typer.Option(
        None, "--max-docs", min=1, help="Use a random subset of the test documents."
    ),
    reference_plan: bool = typer.Option(
        False, "--reference-plan", help="Give Falconer the task's plan instead of planning."
    ),
    workdir: Path = typer.Option(Path("bench-e2e"), "--workdir", help="Run folders go here."),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads."),
    cache: bool = typer.Option(
        False, "--cache/--no-cache", help="Reuse cached LLM answers (timings then flatter)."
    ),
    min_steps: int = MIN_STEPS,
    seed: int = SEED,
    json_out: Path | None = JSON_OUT,
    report: Path | None = typer.Option(None, "--report", help="Write an HTML report here."),
    runtime: str = typer.Option(
        "auto",
        "--runtime",
        callback=one_of(RUNTIME_CHOICES),
        help="What runs Falconer's proxy: auto (the runtime it stands for on this CPU, bf16 or "
        "onnx-int8, checked even on a small split, as over the 1M documents projected), torch, "
        "bf16, onnx or onnx-int8.",
    ),
    backbone: str = BACKBONE,
    distil_from: str | None = DISTIL_FROM,
    active: bool = ACTIVE,
    active_start: int = ACTIVE_START,
    active_step: int = ACTIVE_STEP,
    span_type: str | None = SPAN_TYPE,
) -> None:
    """LLM-only against Falconer (plan, annotate, train, execute) on each task's test split.

    Scores against gold, agreement, calls, tokens, $, seconds, docs/s, and both projected to
    1M documents."""
    options = E2EOptions(
        llm=llm,
        annotator=annotator,
        max_docs=max_docs,
        threads=threads,
        seed=seed,
        use_cache=cache,
        min_steps=min_steps,
        reference_plan=reference_plan,
        runtime=runtime,
        backbone=backbone,
        distil_from=distil_from,
        active=active,
        active_start=active_start,
        active_step=active_step,
        span_type=span_type,
    )
    runs = [SuiteTask(folder, tuple(annotate), options) for folder in task]
    try:
        runs += load_suite(suite, options, tuple(annotate)) if suite else []
    except InputError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    if not runs:
        console.print("[red]error:[/red] give a task (--task DIR) or a suite (--suite FILE)")
        raise typer.Exit(2)
    machine = (
        f"{platform.platform()}, {os.cpu_count()} CPUs, {threads or 2} threads; "
        f"{datetime.now(UTC):%Y-%m-%d}; LLM {llm}; annotator {annotator}"
    )
    benches = _e2e_benches(runs, workdir)
    results = []
    with training_progress(console) as progress:
        for run, bench in zip(runs, benches, strict=True):
            bench.progress = progress
            results.append(bench.run(run.folder, run.sizes))
            if json_out:
                _write_e2e(json_out, machine, results)
    typer.echo(summary_markdown(results, machine))
    if report:
        markdown = write_report(results, report, machine)
        console.print(f"report: {report} (summary {markdown})")


def _e2e_benches(runs: list[SuiteTask], workdir: Path) -> list[E2EBench]:
    """One bench per task, all checked before the first one starts: a bad setting of the
    last task must not surface after hours of the first ones."""
    names = [run.folder.resolve() for run in runs]
    repeated = sorted({str(name) for name in names if names.count(name) > 1})
    try:
        if repeated:
            raise InputError(
                f"{', '.join(repeated)} given twice: the runs would share one run folder; "
                "run each setting with its own --workdir"
            )
        return [E2EBench(workdir, run.options, log=console.print) for run in runs]
    except InputError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None


@bench_app.command("report")
def bench_report_command(
    runs: list[Path] = typer.Argument(..., help="JSON files of `falconer bench e2e --json`."),
    report: Path = typer.Option(
        ..., "--report", help="Write the HTML report here (a Markdown summary beside it)."
    ),
    json_out: Path | None = JSON_OUT,
) -> None:
    """One report over several e2e runs (other tasks, seeds or days), tables and plots together.

    Each run's machine line is kept."""
    loaded = []
    for path in runs:
        try:
            loaded.append((str(path), json.loads(path.read_text(encoding="utf-8"))))
        except (OSError, json.JSONDecodeError) as error:
            console.print(f"[red]error:[/red] {path}: {error}")
            raise typer.Exit(2) from None
    try:
        machine, results = merge_runs(loaded)
    except InputError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    if json_out:
        _write_e2e(json_out, machine, results)
    typer.echo(summary_markdown(results, machine))
    markdown = write_report(results, report, machine)
    console.print(f"report: {report} (summary {markdown})")


def _write_e2e(path: Path, machine: str, results: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine": machine, "tasks": results}, indent=2, default=str))


@bench_app.command("score")
def bench_score_command(
    run_dir: Path = typer.Argument(..., help="A run folder of `falconer mine` (any mode)."),
    task: Path = typer.Option(..., "--task", help="The task whose test documents it read."),
    against: Path | None = typer.Option(
        None, "--against", help="Another run folder: also report agreement with it."
    ),
) -> None:
    """Score a run's results against the task's gold answers (and another run's)."""
    try:
        ids, gold = gold_answers(task)
        kind = gold.kind
        answers = run_folder_answers(run_dir, kind)
        scores = {"gold": compare(ids, answers, gold)}
        if against is not None:
            scores["agreement"] = compare(ids, answers, run_folder_answers(against, kind))
    except KeyError as error:
        raise InputError(f"{run_dir} or {task} lacks {error}: not a Falconer run or task") from None
    typer.echo(json.dumps(scores, indent=2))
