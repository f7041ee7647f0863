"""asyncio primitives that follow the running event loop.

A semaphore or lock binds to the first loop that waits on it, but a backend outlives many
`asyncio.run` calls (every `Annotator.annotate_sync` runs one), so a primitive made once
fails with "bound to a different event loop" as soon as a later run has to wait on it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class LoopLocal(Generic[T]):
    """One `make()` per running event loop; the previous loop's object is dropped."""

    def __init__(self, make: Callable[[], T]) -> None:
        self._make = make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._value: T | None = None

    def get(self) -> T:
        loop = asyncio.get_running_loop()
        if self._value is None or self._loop is not loop:
            self._loop, self._value = loop, self._make()
        return self._value
