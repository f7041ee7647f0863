"""The two callbacks long work reports through, declared once so that a library caller, the
CLI's progress bars and the benchmarks plug into every stage the same way."""

from __future__ import annotations

from collections.abc import Callable

Log = Callable[[str], None]  # one line for the user: what a stage is doing or decided
Progress = Callable[[str, int, int], None]  # (what, done, total), for a progress bar
