"""Entry point: `falconer <command>`; each command group lives in its own module."""

from __future__ import annotations

from typing import Any

import typer
from typer.core import TyperGroup

from falconer import __version__
from falconer.cli.adapt import adapt
from falconer.cli.annotate import annotate, bench_annotator
from falconer.cli.bench import bench_app
from falconer.cli.demo import demo
from falconer.cli.mine import apply, mine
from falconer.cli.plan import plan
from falconer.core.errors import FalconerError
from falconer.llm.structured import InvalidOutputError


class _ReportingGroup(TyperGroup):
    """The root command group. A bad input any command meets (a missing file, a task folder of
    the wrong kind, an LLM that never gave a valid answer) ends in one line on stderr and exit
    status 2, not a traceback. Handled here, not in `main`, so `CliRunner` tests see what users
    see, and no command repeats it."""

    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]  # typer's own click
        try:
            return super().invoke(ctx)
        except (FalconerError, InvalidOutputError, FileNotFoundError, PermissionError) as error:
            typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    cls=_ReportingGroup,
    name="falconer",
    help="Instruction-driven knowledge mining: an LLM plans and annotates, "
    "a small proxy reads the corpus.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="markdown",  # docstrings reflow to the terminal; `code` stays marked
)
app.add_typer(bench_app, name="bench")
app.command("demo")(demo)
app.command("mine")(mine)
app.command("apply")(apply)
app.command("adapt")(adapt)
app.command("annotate")(annotate)
app.command("plan")(plan)
bench_app.command("annotator")(bench_annotator)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"falconer {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Falconer: one instruction and a corpus in, structured results out."""


def main() -> None:
    """The console script."""
    app()
