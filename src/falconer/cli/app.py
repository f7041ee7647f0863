"""Entry point: `falconer <command>`; each command group lives in its own module."""

from __future__ import annotations

import typer

from falconer import __version__
from falconer.cli.annotate import annotate, bench_annotator
from falconer.cli.bench import bench_app
from falconer.cli.demo import demo
from falconer.cli.mine import apply, mine
from falconer.cli.plan import plan
from falconer.core.errors import FalconerError

app = typer.Typer(
    name="falconer",
    help="Instruction-driven knowledge mining: an LLM plans and annotates, "
    "a small proxy reads the corpus.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(bench_app, name="bench")
app.command("demo")(demo)
app.command("mine")(mine)
app.command("apply")(apply)
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
    """The console script. A bad input that a command does not report itself (a task folder of
    the wrong kind, say) ends in one line on stderr and exit status 2, not a traceback."""
    try:
        app()
    except FalconerError as error:
        typer.secho(f"error: {error}", fg=typer.colors.RED, err=True)
        raise SystemExit(2) from None
