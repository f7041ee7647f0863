"""Client-side request and token budgets per minute, so a run stays under a provider's quota
instead of learning about it through a storm of 429s."""

from __future__ import annotations

import asyncio
import time
from collections import deque

from falconer.llm.loops import LoopLocal


class MinuteBudget:
    """Sliding 60-second window over (time, amount); `acquire` waits until `amount` fits."""

    def __init__(self, per_minute: float | None, window_s: float = 60.0) -> None:
        self.per_minute = per_minute
        self.window_s = window_s
        self._events: deque[tuple[float, float]] = deque()
        self._lock = LoopLocal(asyncio.Lock)

    def _used(self, now: float) -> float:
        while self._events and now - self._events[0][0] >= self.window_s:
            self._events.popleft()
        return sum(amount for _, amount in self._events)

    async def acquire(self, amount: float = 1.0) -> None:
        if not self.per_minute:
            return
        amount = min(amount, self.per_minute)
        async with self._lock.get():
            while True:
                now = time.monotonic()
                if self._used(now) + amount <= self.per_minute:
                    self._events.append((now, amount))
                    return
                wait = self.window_s - (now - self._events[0][0])
                await asyncio.sleep(max(wait, 0.01))

    def record(self, amount: float) -> None:
        """Add usage measured after the fact (e.g. real completion tokens)."""
        if self.per_minute and amount > 0:
            self._events.append((time.monotonic(), amount))
