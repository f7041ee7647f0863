"""`ProxyBench` refuses settings it cannot run before it trains anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from falconer.bench.proxy_bench import ProxyBench
from falconer.bench.tasks import load_task


def test_a_warm_start_from_one_task_and_an_empty_teacher_pool_are_refused(bench_dir: Path) -> None:
    task = load_task(bench_dir / "tasks" / "sst2-positive")
    with pytest.raises(ValueError, match="a warm start from the other tasks"):
        ProxyBench([task], 16, [0], warm_from_others=True)
    with pytest.raises(ValueError, match="a step teacher answers at least 1 text, not 0"):
        ProxyBench([task], 16, [0], teacher_pool=0)
    assert ProxyBench([task], 16, [0], teacher_pool=1).teacher_pool == 1
