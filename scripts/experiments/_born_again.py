"""What the born-again experiments share: one task's annotated sample with its unannotated
pool, a plain one-task fit and its test score, and results appended a row at a time (a long
run keeps what it measured if it stops)."""

import json
from collections.abc import Callable, Sequence
from pathlib import Path

from falconer.bench.tasks import BenchTask
from falconer.core.tasks import TaskData
from falconer.proxy.checks import check_answers
from falconer.proxy.config import TrainConfig
from falconer.proxy.proxy import Proxy

Row = dict[str, object]


def sample(task: BenchTask, n: int, seed: int, pool: int) -> tuple[TaskData, list[str]]:
    """The bench's N annotated documents of this seed, and up to `pool` of the rest's texts."""
    annotated, rest = task.sample(n, seed)
    return task.task_data(annotated), [d.text for d in rest][:pool]


def fit(data: TaskData, seed: int) -> Proxy:
    proxy = Proxy.from_pretrained("default")
    proxy.fit([data], config=TrainConfig(seed=seed))
    return proxy


def test_score(proxy: Proxy, task: BenchTask) -> float:
    """The proxy's score on the task's test split, by the task's metric."""
    expected = [d.example() for d in task.test]
    return check_answers(proxy, task.instruction, task.kind, expected).score(task.metric)


def run_seeds(seeds: Sequence[int], run_seed: Callable[[int], Row], out: Path) -> None:
    for seed in seeds:
        row = run_seed(seed)
        print(json.dumps(row), flush=True)
        with out.open("a") as file:
            file.write(json.dumps(row) + "\n")


def row_head(task: BenchTask, n: int, seed: int, pool: int) -> Row:
    """What every row names: the task, its sample and how many texts the teachers answered."""
    return {"task": task.name, "n": n, "seed": seed, "pool": pool, "metric": task.metric}
