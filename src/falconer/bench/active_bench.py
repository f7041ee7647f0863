"""`falconer bench active`: does annotating where the proxy is unsure beat annotating at random?

With the oracle annotator (gold labels of train documents, see the bench README), each task
runs the active annotation loop up to a budget, scoring every round's proxy on the test
split, and trains proxies on random samples of the compared sizes. The verdict: the fewest
active annotations whose test score reaches the largest random sample's.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from falconer.annotator.active import ActiveAnnotation, ActiveOptions, ActiveRound, Question
from falconer.bench.tasks import BenchTask
from falconer.core.callbacks import Log, Progress
from falconer.core.documents import Document
from falconer.core.tasks import Example, Kind, TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.checks import check_answers


@dataclass(slots=True)
class ActiveBenchResult:
    task: str
    metric: str
    seed: int
    curve: list[dict[str, Any]]  # per round: annotated, trained_on, held-out agreement, test
    stopped: str
    random: dict[int, float]  # annotations -> test score of a proxy on a random sample
    reached_with: int | None  # fewest active annotations reaching the largest random score
    seconds: float
    annotator: str = "oracle"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ActiveBench:
    tasks: Sequence[BenchTask]
    options: ActiveOptions
    compare: Sequence[int] = (256,)
    backbone: str = "default"
    threads: int | None = None
    min_steps: int = 300
    max_test: int | None = None
    log: Log = print
    progress: Progress | None = None

    def run(
        self, save: Callable[[list[ActiveBenchResult]], None] | None = None
    ) -> list[ActiveBenchResult]:
        results: list[ActiveBenchResult] = []
        for task in self.tasks:
            results.append(self._one(task))
            if save is not None:
                save(results)
        return results

    def _one(self, task: BenchTask) -> ActiveBenchResult:
        started = time.perf_counter()
        gold = {d.id: d for d in task.train}
        documents = [Document(d.id, d.text) for d in task.train]

        def annotate(instruction: str, kind: Kind, docs: Sequence[Document]) -> dict[str, Example]:
            return {d.id: gold[d.id].example() for d in docs}

        def scored(proxy: Proxy, point: ActiveRound) -> None:
            point.extra["test_score"] = round(self._test_score(proxy, task), 4)
            self.log(
                f"  {task.name} round {point.round}: {point.annotated[task.instruction]} "
                f"annotated -> test {task.metric} {point.extra['test_score']:.4f}"
            )

        self.log(f"{task.name}: active annotation (annotator: oracle), seed {self.options.seed}")
        loop = ActiveAnnotation(
            [Question(task.instruction, task.kind)],
            documents,
            annotate,
            self._train,
            self.options,
            on_round=scored,
            log=self.log,
        )
        outcome = loop.run()
        curve = [
            {
                "annotated": r.annotated[task.instruction],
                "trained_on": r.trained_on[task.instruction],
                "held_out_agreement": r.agreement[task.instruction],
                "test_score": r.extra["test_score"],
                "seconds": r.seconds,
            }
            for r in outcome.rounds
        ]
        random_scores = {n: self._random_score(task, n) for n in self.compare}
        bar = random_scores[max(self.compare)] if self.compare else None
        reached = [p["annotated"] for p in curve if bar is not None and p["test_score"] >= bar]
        return ActiveBenchResult(
            task.name,
            task.metric,
            self.options.seed,
            curve,
            outcome.stopped,
            random_scores,
            min(reached) if reached else None,
            round(time.perf_counter() - started, 1),
        )

    def _train(self, tasks: list[TaskData]) -> Proxy:
        proxy = Proxy.from_pretrained(self.backbone, threads=self.threads)
        config = TrainConfig(seed=self.options.seed, threads=self.threads, min_steps=self.min_steps)
        proxy.fit(tasks, config=config, progress=self.progress)
        return proxy

    def _random_score(self, task: BenchTask, n: int) -> float:
        annotated, _ = task.sample(n, self.options.seed)
        score = self._test_score(self._train([task.task_data(annotated)]), task)
        self.log(f"  {task.name} random {n}: test {task.metric} {score:.4f}")
        return round(score, 4)

    def _test_score(self, proxy: Proxy, task: BenchTask) -> float:
        docs = task.test[: self.max_test] if self.max_test else task.test
        expected = [d.example() for d in docs]
        return check_answers(proxy, task.instruction, task.kind, expected).score(task.metric)
