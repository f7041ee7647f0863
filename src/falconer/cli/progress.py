"""Rich progress bars for long work (training steps, documents processed)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from falconer.core.callbacks import Progress as ProgressCallback


class RateColumn(ProgressColumn):
    """Items per second (documents, calls or training steps) over the recent past."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("" if speed is None else f"{speed:,.1f}/s", style="progress.data.speed")


@contextmanager
def training_progress(console: Console | None = None) -> Iterator[ProgressCallback]:
    """A callback `(stage, step, total)` that drives one bar per stage, with ETA."""
    bars: dict[str, TaskID] = {}
    last: dict[str, int] = {}  # a stage starting over (a new training round) gets a new bar
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        RateColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:

        def update(stage: str, step: int, total: int) -> None:
            if stage not in bars or step < last[stage]:
                if stage in bars:
                    progress.remove_task(bars[stage])
                bars[stage] = progress.add_task(stage, total=total)
            last[stage] = step
            progress.update(bars[stage], completed=step, total=total)

        yield update
