"""`falconer mine` (the whole job) and `falconer apply` (a finished run on another corpus)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console

from falconer.cli.options import (
    ACTIVE,
    ACTIVE_START,
    ACTIVE_STEP,
    BACKBONE,
    DISTIL_FROM,
    DISTIL_POOL,
    EXECUTION_PANEL,
    ID_FIELD,
    INPUT,
    LLM,
    LLM_PANEL,
    MAX_CHARS,
    MIN_STEPS,
    NO_CACHE,
    OUTPUT_PANEL,
    RUNTIME,
    SEED,
    SPAN_TYPE,
    STEP_TEACHERS,
    TEACHER_POOL,
    TEXT_FIELD,
    THREADS,
    one_of,
)
from falconer.cli.progress import training_progress
from falconer.cli.report import print_report
from falconer.engine.apply import apply_run
from falconer.engine.corpus import Corpus
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.ray_engine import RayOptions
from falconer.engine.report import RunReport
from falconer.engine.sinks import FORMATS
from falconer.plan.schema import Plan

console = Console(stderr=True)
RESUME_HINT = "interrupted: run the same command again to resume where it stopped"


FORMAT = typer.Option(
    "parquet",
    "--format",
    rich_help_panel=OUTPUT_PANEL,
    callback=one_of(FORMATS),
    help=f"Results format: {', '.join(FORMATS)}.",
)
BATCH = typer.Option(
    256,
    "--batch-size",
    rich_help_panel=EXECUTION_PANEL,
    min=1,
    help="Documents per batch (and checkpoint).",
)
RESTART = typer.Option(
    False,
    "--restart",
    rich_help_panel=OUTPUT_PANEL,
    help="Discard an interrupted run's results and start over.",
)
ENGINE = typer.Option(
    "local",
    "--engine",
    rich_help_panel=EXECUTION_PANEL,
    callback=one_of(("local", "ray")),
    help="Execute stage: local, or ray (Ray Data).",
)
RAY_ADDRESS = typer.Option(
    None,
    "--ray-address",
    rich_help_panel=EXECUTION_PANEL,
    help="A Ray cluster to join (default: start Ray on this machine).",
)
WORKERS = typer.Option(
    1,
    "--workers",
    rich_help_panel=EXECUTION_PANEL,
    min=1,
    help="Ray actors, each with its own proxy.",
)


def _ray_options(
    engine: str, address: str | None, workers: int, threads: int | None, batch_size: int
) -> RayOptions | None:
    if engine == "local":
        return None
    return RayOptions(address, workers, threads or 1, batch_size)


def mine(
    instruction: str = typer.Argument(None, help="What to mine, in plain words."),
    input_path: Path = INPUT,
    text_field: str = TEXT_FIELD,
    id_field: str = ID_FIELD,
    max_chars: int = MAX_CHARS,
    output: Path = typer.Option(
        Path("falconer-run"), "--output", "-o", rich_help_panel=OUTPUT_PANEL, help="Run folder."
    ),
    output_format: str = FORMAT,
    restart: bool = RESTART,
    llm: str = LLM,
    annotate: int = typer.Option(
        100, "--annotate", rich_help_panel=LLM_PANEL, min=4, help="Documents annotated per step."
    ),
    plan_path: Path | None = typer.Option(
        None,
        "--plan",
        rich_help_panel=LLM_PANEL,
        help="A plan (JSON or YAML) to use instead of planning.",
    ),
    llm_only: bool = typer.Option(
        False,
        "--llm-only",
        rich_help_panel=LLM_PANEL,
        help="Baseline: the LLM answers every document; no proxy.",
    ),
    no_cache: bool = NO_CACHE,
    active: bool = ACTIVE,
    active_start: int = ACTIVE_START,
    active_step: int = ACTIVE_STEP,
    span_type: str | None = SPAN_TYPE,
    backbone: str = BACKBONE,
    distil_from: str | None = DISTIL_FROM,
    distil_pool: int = DISTIL_POOL,
    step_teachers: bool = STEP_TEACHERS,
    teacher_pool: int = TEACHER_POOL,
    min_steps: int = MIN_STEPS,
    seed: int = SEED,
    runtime: str = RUNTIME,
    threads: int | None = THREADS,
    batch_size: int = BATCH,
    engine: str = ENGINE,
    ray_address: str | None = RAY_ADDRESS,
    workers: int = WORKERS,
    target_agreement: float | None = typer.Option(
        None,
        "--target-agreement",
        rich_help_panel=EXECUTION_PANEL,
        min=0.0,
        max=1.0,
        help="Cascade: send documents the proxy is unsure of to the LLM until the 95% "
        "interval of its agreement with an LLM-only run, estimated on held-out annotations, "
        "clears this (or --llm-budget runs out).",
    ),
    llm_budget: str | None = typer.Option(
        None,
        "--llm-budget",
        rich_help_panel=EXECUTION_PANEL,
        help="Most the cascade may spend on the LLM: calls (500), a share of the corpus's "
        "documents (30%) or dollars ($2.50, priced like the annotation calls). The least sure "
        "answers of all steps go first.",
    ),
) -> None:
    """Plan INSTRUCTION, annotate a sample, train one proxy, run it over the whole corpus.

    The LLM plans and annotates a sample of the corpus for every step; one proxy learns every
    step and reads the whole corpus; results and a report go to the run folder. Rerun the
    same command after an interruption to resume."""
    options = MineOptions(
        llm=llm,
        n_annotate=annotate,
        seed=seed,
        threads=threads,
        use_cache=not no_cache,
        min_steps=min_steps,
        backbone=backbone,
        distil_from=distil_from,
        distil_pool=distil_pool,
        step_teachers=step_teachers,
        teacher_pool=teacher_pool,
        output_format=output_format,
        batch_size=batch_size,
        restart=restart,
        ray=_ray_options(engine, ray_address, workers, threads, batch_size),
        engine=engine,
        target_agreement=target_agreement,
        llm_budget=llm_budget,
        active=active,
        active_start=active_start,
        active_step=active_step,
        runtime=runtime,
        span_type=span_type,
    )

    def job() -> RunReport:
        corpus = Corpus(input_path, text_field, id_field, max_chars)
        plan = Plan.load(plan_path) if plan_path is not None else None
        if plan is None and not instruction:
            raise typer.BadParameter("give an INSTRUCTION or --plan")
        with training_progress(console) as progress:
            miner = Miner(output, options, log=console.print, progress=progress)
            if llm_only:
                return miner.run_llm_only(corpus, instruction, plan)
            return miner.run(corpus, instruction, plan)

    print_report(console, _guarded(job))


def apply(
    run_dir: Path = typer.Argument(..., help="Folder of a finished `falconer mine` run."),
    input_path: Path = INPUT,
    output: Path = typer.Option(
        ..., "--output", "-o", rich_help_panel=OUTPUT_PANEL, help="Folder for the results."
    ),
    text_field: str = TEXT_FIELD,
    id_field: str = ID_FIELD,
    max_chars: int = MAX_CHARS,
    output_format: str = FORMAT,
    batch_size: int = BATCH,
    threads: int | None = THREADS,
    restart: bool = RESTART,
    engine: str = ENGINE,
    ray_address: str | None = RAY_ADDRESS,
    workers: int = WORKERS,
    runtime: str = RUNTIME,
) -> None:
    """Run the plan and proxy of RUN_DIR over another corpus, with no LLM at all."""
    ray = _ray_options(engine, ray_address, workers, threads, batch_size)

    def job() -> RunReport:
        corpus = Corpus(input_path, text_field, id_field, max_chars)
        with training_progress(console) as progress:
            return apply_run(
                run_dir,
                corpus,
                output,
                output_format=output_format,
                batch_size=batch_size,
                restart=restart,
                threads=threads,
                progress=progress,
                ray=ray,
                runtime=runtime,
            )

    print_report(console, _guarded(job))


def _guarded(job: Callable[[], RunReport]) -> RunReport:
    try:
        return job()
    except KeyboardInterrupt:
        console.print(f"[yellow]{RESUME_HINT}[/yellow]")
        raise typer.Exit(130) from None
