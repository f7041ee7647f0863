"""`falconer demo`: the README's main job, offline on the embedded defaults."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from falconer.cli.progress import training_progress
from falconer.core.errors import FalconerError
from falconer.engine.demo import Demo, DemoReport

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
    """Annotate a sample of the bundled WikiGold corpus with the LLM, train one proxy for two
    steps (people's names; is it about music?), run it over all 1,696 sentences, report."""
    try:
        with training_progress(console) as progress:
            report = Demo(
                output,
                llm=llm,
                n_annotate=annotate,
                seed=seed,
                threads=threads,
                use_cache=not no_cache,
                log=console.print,
                progress=progress,
            ).run()
    except FalconerError as error:
        console.print(f"[red]error:[/red] {error}")
        raise typer.Exit(2) from None
    console.print(_table(report))
    for name, path in report.outputs.items():
        console.print(f"{name}: {path}")


def _table(report: DemoReport) -> Table:
    table = Table(title=f"demo on {report.corpus_documents} documents, LLM {report.llm}")
    for column in ("field", "kind", "annotated", "failed", "held out", "proxy vs LLM"):
        table.add_column(column)
    for step in report.steps:
        agreement = ", ".join(f"{k} {v:.3f}" for k, v in step["proxy_agreement_with_llm"].items())
        annotation = step["annotation"]
        table.add_row(
            step["field"],
            step["kind"],
            str(annotation["annotated"]),
            str(annotation["failed"]),
            str(step["held_out_llm_labels"]),
            agreement,
        )
    seconds = ", ".join(f"{k} {v:.0f}s" for k, v in report.seconds.items())
    table.caption = f"{seconds}; execute {report.execute_docs_per_second:.0f} docs/s"
    return table
