"""Usage and cost accounting per stage (plan, annotate, ...), and the price table behind it.

API models are costed by tokens ($ per 1M input / output tokens); local models by CPU time
(seconds x threads x $ per CPU-hour), so both can be compared in one report. Users override
prices with a JSON file `{"model": {"input": 0.4, "output": 1.6}, "cpu_hour": 0.05}` passed
as `FALCONER_PRICES` or to `PriceTable.load`.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# $ per 1M tokens (input, output); public list prices, overridable.
DEFAULT_PRICES: dict[str, tuple[float, float]] = {
    "gpt-4.1": (2.00, 8.00),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4o": (2.50, 10.00),
    "gpt-4o-mini": (0.15, 0.60),
}
DEFAULT_CPU_HOUR = 0.05


@dataclass
class StageUsage:
    calls: int = 0
    cache_hits: int = 0
    cache_misses: int = 0
    retries: int = 0
    repairs: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    cost_usd: float = 0.0


@dataclass
class PriceTable:
    tokens: dict[str, tuple[float, float]] = field(default_factory=lambda: dict(DEFAULT_PRICES))
    cpu_hour: float = DEFAULT_CPU_HOUR

    @classmethod
    def load(cls, path: str | Path | None = None) -> PriceTable:
        """Defaults, overridden by the JSON file at `path` or $FALCONER_PRICES when given."""
        table = cls()
        source = path or os.environ.get("FALCONER_PRICES")
        if source:
            data: dict[str, Any] = json.loads(Path(source).read_text())
            table.cpu_hour = float(data.pop("cpu_hour", table.cpu_hour))
            for model, price in data.items():
                table.tokens[model] = (float(price["input"]), float(price["output"]))
        return table

    def cost(
        self, model: str, prompt_tokens: int, completion_tokens: int, cpu_seconds: float | None
    ) -> float:
        """$ estimate: by CPU time for local models, by tokens for priced ones, else 0."""
        if cpu_seconds is not None:
            return cpu_seconds / 3600 * self.cpu_hour
        price = self.tokens.get(model) or self.tokens.get(model.split("/")[-1])
        if price is None:
            return 0.0
        return (prompt_tokens * price[0] + completion_tokens * price[1]) / 1_000_000


class UsageMeter:
    """Thread-safe counters per stage; `report()` is what runs print and save."""

    def __init__(self, prices: PriceTable | None = None) -> None:
        self.prices = prices or PriceTable()
        self.stages: dict[str, StageUsage] = {}
        self._lock = threading.Lock()

    def stage(self, name: str) -> StageUsage:
        with self._lock:
            return self.stages.setdefault(name, StageUsage())

    def record_call(
        self,
        stage: str,
        *,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
        seconds: float,
        retries: int,
        cpu_threads: int | None,
    ) -> None:
        usage = self.stage(stage)
        with self._lock:
            usage.calls += 1
            usage.retries += retries
            usage.prompt_tokens += prompt_tokens
            usage.completion_tokens += completion_tokens
            usage.seconds += seconds
            cpu = seconds * cpu_threads if cpu_threads is not None else None
            usage.cost_usd += self.prices.cost(model, prompt_tokens, completion_tokens, cpu)

    def count(self, stage: str, field_name: str, amount: int = 1) -> None:
        usage = self.stage(stage)
        with self._lock:
            setattr(usage, field_name, getattr(usage, field_name) + amount)

    def report(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return {name: asdict(usage) for name, usage in self.stages.items()}

    def total(self) -> StageUsage:
        total = StageUsage()
        with self._lock:
            for usage in self.stages.values():
                for name, value in asdict(usage).items():
                    setattr(total, name, getattr(total, name) + value)
        return total
