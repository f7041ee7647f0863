"""Rich progress bars for long work (training steps, documents processed)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

StepCallback = Callable[[str, int, int], None]


@contextmanager
def training_progress(console: Console | None = None) -> Iterator[StepCallback]:
    """A callback `(stage, step, total)` that drives one bar per stage, with ETA."""
    bars: dict[str, TaskID] = {}
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    ) as progress:

        def update(stage: str, step: int, total: int) -> None:
            if stage not in bars or step == 1:
                if stage in bars:
                    progress.remove_task(bars[stage])
                bars[stage] = progress.add_task(stage, total=total)
            progress.update(bars[stage], completed=step, total=total)

        yield update
