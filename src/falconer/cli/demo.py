"""`falconer demo`: the README's main job, offline on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from falconer.cli.progress import training_progress
from falconer.cli.report import print_report
from falconer.engine.demo import run_demo
from falconer.engine.mine import MineOptions

console = Console()


def demo(
    output: Path = typer.Option(Path("falconer-demo"), "--output", "-o", help="Run folder."),
    llm: str = typer.Option("embedded", "--llm", help="embedded | gguf:PATH | openai:MODEL | ..."),
    annotate: int = typer.Option(
        60, "--annotate", min=8, help="Documents the LLM annotates per step."
    ),
    threads: int | None = typer.Option(None, "--threads", min=1, help="CPU threads."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Do not reuse cached LLM answers."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """The main job on the bundled WikiGold corpus, offline: annotate, train, execute, report.

    The LLM annotates a sample for two steps (people's names; is it about music?), one proxy
    learns both and reads all 1,696 sentences, and a report says how it went."""
    options = MineOptions(
        llm=llm, n_annotate=annotate, threads=threads, use_cache=not no_cache, seed=seed
    )
    with training_progress(console) as progress:
        report = run_demo(output, options, log=console.print, progress=progress)
    print_report(console, report)
