"""`falconer bench proxy` with any `TrainConfig` fields overridden (the CLI exposes only a
few), e.g. the encoder's learning rate:

Usage: python bench_overrides.py '{"learning_rate": 3e-5}' --task DIR ... --seed S --json OUT
"""

import json
import sys
from typing import Any

from falconer.bench.proxy_bench import ProxyBench
from falconer.cli import bench
from falconer.cli.app import app

OVERRIDES: dict[str, Any] = json.loads(sys.argv[1])


class OverriddenBench(ProxyBench):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["train_overrides"] = {**kwargs.get("train_overrides", {}), **OVERRIDES}
        super().__init__(*args, **kwargs)


bench.ProxyBench = OverriddenBench  # type: ignore[misc]

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[2:]])
