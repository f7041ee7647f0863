"""`falconer plan "INSTRUCTION"`: print the plan the LLM proposes, for review and editing."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from falconer.cli.options import LLM, LLM_THREADS, NO_CACHE
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.planner import Planner

console = Console(stderr=True)


def plan(
    instruction: str = typer.Argument(..., help="What to mine, in plain words."),
    llm: str = LLM,
    example: list[str] = typer.Option([], "--example", help="A corpus document; repeatable."),
    field: list[str] = typer.Option([], "--field", help="An output field you want; repeatable."),
    output_format: str = typer.Option("yaml", "--format", help="yaml or json."),
    out: Path | None = typer.Option(None, "--out", help="Also write the plan to this file."),
    threads: int = LLM_THREADS,
    no_cache: bool = NO_CACHE,
) -> None:
    """Turn INSTRUCTION into a validated plan of get_label / get_span steps and print it."""
    if output_format not in ("yaml", "json"):
        raise typer.BadParameter("yaml or json", param_hint="--format")
    backend = create_backend(llm, threads=threads)
    cache = None if no_cache else ResponseCache(default_cache_path())
    result = Planner(LLMClient(backend, cache=cache)).plan_sync(instruction, example, field)
    if result.note:
        console.print(f"[yellow]note:[/yellow] {result.note}")
    text = result.plan.to_yaml() if output_format == "yaml" else result.plan.to_json()
    typer.echo(text)
    if out is not None:
        out.write_text(text, encoding="utf-8")
