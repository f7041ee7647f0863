"""How a run report looks in the terminal."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from falconer.engine.report import RunReport, reject_reasons_text


def print_report(console: Console, report: RunReport) -> None:
    if report.steps:
        console.print(_steps_table(report))
    console.print(_stages_table(report))
    run = report.execute
    rejected = f"{run['rejected']:,} rejected"
    if run["rejected"]:
        rejected += f" ({reject_reasons_text(run.get('reject_reasons', {}))})"
    console.print(
        f"{run['documents']:,} documents, {rejected}, {run['kept']:,} kept, "
        f"{run['rows']:,} result rows; execute {run['docs_per_second']:,.1f} documents/s "
        f"({run['model']})"
    )
    for name, path in report.outputs.items():
        console.print(f"{name}: {path}")


def _steps_table(report: RunReport) -> Table:
    table = Table(title=f"{report.mode}: steps")
    for column in ("step", "op", "annotated", "failed", "held out", "proxy vs LLM"):
        table.add_column(column)
    for step in report.steps:
        agreement = ", ".join(f"{k} {v:.3f}" for k, v in step["agreement"].items())
        table.add_row(
            step["id"],
            step["op"],
            str(step["annotated"]),
            str(step["failed"]),
            str(step["held_out"]),
            agreement or "-",
        )
    return table


def _stages_table(report: RunReport) -> Table:
    table = Table(title=f"{report.mode}: time and cost")
    for column in ("stage", "seconds", "LLM calls", "cached", "tokens", "$"):
        table.add_column(column, justify="right")
    for stage, seconds in report.seconds.items():
        usage = report.usage.get(stage, {})
        tokens = int(usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
        table.add_row(
            stage,
            f"{seconds:.1f}",
            str(int(usage.get("calls", 0))),
            str(int(usage.get("cache_hits", 0))),
            f"{tokens:,}",
            f"{usage.get('cost_usd', 0.0):.4f}",
        )
    return table
