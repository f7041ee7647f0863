"""`falconer bench proxy`: the proxy measured apart from any LLM, on an oracle annotator.

The oracle annotator hands the proxy the gold answers of N train documents (see the bench
README); every result says so. Scores come from the test split only.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from falconer.bench.tasks import BenchTask, GoldDoc
from falconer.core.callbacks import Log, Progress
from falconer.core.metrics import score_labels, score_spans
from falconer.core.tasks import TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.checks import AnswerCheck, check_answers
from falconer.proxy.distillation import SPAN_TEACHER_FLOOR, STEP_TEACHER_POOL, taught_tasks
from falconer.proxy.runtimes import GuardedInt8Runtime

Save = Callable[[list["ProxyBenchResult"], list["CrossResult"]], None]
CHECK_TEXTS = 500
WARM_START_NEEDS = "needs two --task folders or more, each scored alone (not --multitask)"


def warm_start_problem(warm_from_others: bool, multitask: bool, task_count: int) -> str | None:
    """Why an asked-for warm start from the other tasks cannot run, or None: each task's warm
    proxy learns the run's other tasks, so there must be others, and a multitask fit has none."""
    return WARM_START_NEEDS if warm_from_others and (multitask or task_count < 2) else None


def pretrained_on(
    tasks: Sequence[BenchTask],
    n: int,
    backbone: str = "default",
    threads: int | None = None,
    train_overrides: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[Proxy, dict[str, Any]]:
    """A proxy fitted on N oracle answers of each task (seed 0, whatever the run's seed), to
    start another task's proxy from: one that already learned other instructions taught
    conll-persons more than any other technique tried at N=256 (docs/results.md, "Warm start")."""
    started = time.perf_counter()
    proxy = Proxy.from_pretrained(backbone, threads=threads)
    data = [t.task_data(t.sample(n, 0)[0]) for t in tasks]
    config = TrainConfig(seed=0, threads=threads, **(train_overrides or {}))
    report = proxy.fit(data, config=config, progress=progress)
    summary = {
        "from_tasks": [t.name for t in tasks],
        "n": n,
        "seed": 0,
        "seconds": time.perf_counter() - started,
        "steps": report.steps,
    }
    return proxy, summary


@dataclass(slots=True)
class ProxyBenchResult:
    task: str
    n: int
    seed: int
    metric: str
    score: float
    scores: dict[str, float]
    train_seconds: float
    docs_per_second: float
    annotator: str = "oracle"
    multitask: bool = False
    backbone: str = "default"
    train: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class CrossResult:
    """A task's instruction asked of another task's texts: precision against that task's gold."""

    text_task: str
    instruction_task: str
    seed: int
    n_predicted: int
    precision_against_text_task: float
    positive_rate: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class ProxyBench:
    tasks: Sequence[BenchTask]
    n: int
    seeds: Sequence[int]
    backbone: str = "default"
    multitask: bool = False
    self_training: bool = False
    threads: int | None = None
    max_test: int | None = None
    train_overrides: dict[str, Any] = field(default_factory=dict)
    runtime: str = "torch"
    # distillation: a proxy on this backbone learns the N labels first and teaches the
    # `backbone` proxy from its answers on up to `distil_pool` of the unlabelled train texts
    distil_from: str | None = None
    distil_pool: int = 4000
    # every task taught by a proxy fitted on it alone, a single task's by its own first
    # fit (see proxy.distillation); off by itself when a `distil_from` backbone teaches
    step_teachers: bool = True
    teacher_pool: int = STEP_TEACHER_POOL  # unlabelled train texts a step teacher answers
    # each task's proxy (and its step teacher) starts from one first trained on the run's
    # other tasks (N each, seed 0, whatever the run's seed): a proxy that already learned
    # other instructions, trained once per task and run
    warm_from_others: bool = False
    save: Save = field(default=lambda results, crosses: None)
    log: Log = print
    progress: Progress | None = None
    _warm_starts: dict[str, tuple[str, dict[str, Any]]] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        problem = warm_start_problem(self.warm_from_others, self.multitask, len(self.tasks))
        if problem:
            raise ValueError(f"a warm start from the other tasks {problem}")
        if self.teacher_pool < 1:
            raise ValueError(f"a step teacher answers at least 1 text, not {self.teacher_pool}")

    def run(self) -> tuple[list[ProxyBenchResult], list[CrossResult]]:
        folder: AbstractContextManager[str | None] = (
            tempfile.TemporaryDirectory(prefix="falconer-warm-")
            if self.warm_from_others
            else nullcontext()
        )
        with folder as warm_folder:
            return self._run(Path(warm_folder) if warm_folder else None)

    def _run(self, warm_folder: Path | None) -> tuple[list[ProxyBenchResult], list[CrossResult]]:
        results: list[ProxyBenchResult] = []
        crosses: list[CrossResult] = []
        for seed in self.seeds:
            if self.multitask:
                proxy, seconds, report = self._train(self.tasks, seed, self.backbone)
                results += [self._evaluate(proxy, t, seed, seconds, report) for t in self.tasks]
                crosses += self._cross(proxy, seed)
                self.save(results, crosses)
            else:
                for task in self.tasks:
                    backbone, warm = self._backbone_for(task, warm_folder)
                    proxy, seconds, report = self._train([task], seed, backbone)
                    if warm:
                        report["warm_start"] = warm
                    results.append(self._evaluate(proxy, task, seed, seconds, report))
                    self.save(results, crosses)
        return results, crosses

    def _backbone_for(
        self, task: BenchTask, warm_folder: Path | None
    ) -> tuple[str, dict[str, Any]]:
        """The --backbone, or with `warm_from_others` a proxy trained from it on the other
        tasks (kept for the run's later seeds)."""
        if warm_folder is None:
            return self.backbone, {}
        if task.name not in self._warm_starts:
            others = [t for t in self.tasks if t is not task]
            names = ", ".join(t.name for t in others)
            self.log(f"  warm start for {task.name}: a proxy trained on {names} first")
            proxy, summary = pretrained_on(
                others, self.n, self.backbone, self.threads, self.train_overrides, self.progress
            )
            folder = warm_folder / task.name
            proxy.save_pretrained(folder)
            self._warm_starts[task.name] = (str(folder), summary)
        return self._warm_starts[task.name]

    def _train(
        self, tasks: Sequence[BenchTask], seed: int, backbone: str
    ) -> tuple[Proxy, float, dict[str, Any]]:
        data: list[TaskData] = []
        unlabeled: dict[str, list[str]] = {}
        for task in tasks:
            annotated, rest = task.sample(self.n, seed)
            data.append(task.task_data(annotated))
            unlabeled[task.instruction] = [d.text for d in rest]
        config = TrainConfig(
            seed=seed,
            threads=self.threads,
            self_training_rounds=1 if self.self_training else 0,
            **self.train_overrides,
        )
        names = ", ".join(t.name for t in tasks)
        self.log(
            f"annotator: oracle (gold labels of {self.n} train docs per task) | "
            f"seed {seed} | training on {names}"
        )
        started = time.perf_counter()
        teacher_summary: dict[str, Any] = {}
        if self.distil_from:
            data, teacher_summary = self._teach(self.distil_from, tasks, data, unlabeled, config)
        elif self.step_teachers:
            data, teacher_summary = self._teach_steps(tasks, data, unlabeled, config, backbone)
        proxy = Proxy.from_pretrained(backbone, threads=self.threads)
        report = proxy.fit(
            data,
            unlabeled=unlabeled if self.self_training else None,
            config=config,
            progress=self.progress,
        )
        seconds = time.perf_counter() - started
        summary = {k: v for k, v in report.to_dict().items() if k not in ("history", "config")}
        summary["runtime"] = self._accelerate(proxy, unlabeled)
        if teacher_summary:
            summary["teacher"] = teacher_summary
        return proxy, seconds, summary

    def _teach(
        self,
        backbone: str,
        tasks: Sequence[BenchTask],
        data: list[TaskData],
        unlabeled: dict[str, list[str]],
        config: TrainConfig,
    ) -> tuple[list[TaskData], dict[str, Any]]:
        """Fit the teacher on the labels, score it on test (what the student is measured
        against), and add its answers on unlabelled train texts to each task's examples."""
        self.log(f"  teacher: {backbone!r} on the same labels")
        teacher = Proxy.from_pretrained(backbone, threads=self.threads)
        teacher.fit(data, config=config, progress=self.progress)
        taught = []
        scores: dict[str, float] = {}
        lessons: dict[str, dict[str, Any]] = {}
        for task, task_data in zip(tasks, data, strict=True):
            texts = unlabeled[task.instruction][: self.distil_pool]
            with_answers, scores[task.name], lessons[task.name] = self._lesson(
                teacher, task, task_data, texts, "teacher"
            )
            taught.append(with_answers)
        return taught, {"backbone": backbone, "scores": scores, "taught": lessons}

    def _teach_steps(
        self,
        tasks: Sequence[BenchTask],
        data: list[TaskData],
        unlabeled: dict[str, list[str]],
        config: TrainConfig,
        backbone: str,
    ) -> tuple[list[TaskData], dict[str, Any]]:
        """Fit each task alone (in a multitask run the single-task fit of this seed, whose
        test score the multitask proxy is held to; in a single-task run the task's own first
        fit), and add its answers on unlabelled train texts to that task's examples (span
        answers only where sure: proxy.distillation)."""
        taught = []
        scores: dict[str, float] = {}
        lessons: dict[str, dict[str, Any]] = {}
        for task, task_data in zip(tasks, data, strict=True):
            texts = unlabeled[task.instruction][: self.teacher_pool]
            if not texts:  # --n of the whole pool leaves none to teach
                taught.append(task_data)
                continue
            self.log(f"  step teacher: {task.name} alone")
            teacher = Proxy.from_pretrained(backbone, threads=self.threads)
            teacher.fit([task_data], config=config, progress=self.progress)
            with_answers, scores[task.name], lessons[task.name] = self._lesson(
                teacher, task, task_data, texts, "step teacher", SPAN_TEACHER_FLOOR
            )
            taught.append(with_answers)
        if not lessons:
            return taught, {}
        return taught, {"backbone": "each step alone", "scores": scores, "taught": lessons}

    def _lesson(
        self,
        teacher: Proxy,
        task: BenchTask,
        task_data: TaskData,
        texts: list[str],
        role: str,
        span_floor: float = 0.0,
    ) -> tuple[TaskData, float, dict[str, Any]]:
        """The task's examples with the teacher's answers on `texts` appended, the teacher's
        score on the task's test split, and what it taught."""
        (with_answers,), (lesson,) = taught_tasks(
            teacher, [task_data], texts, self.progress, span_floor
        )
        expected = [d.example() for d in self._test_docs(task)]
        score = check_answers(teacher, task.instruction, task.kind, expected).score(task.metric)
        self.log(f"  {role} on {task.name} test: {score:.4f}")
        return with_answers, score, lesson.to_dict()

    def _accelerate(self, proxy: Proxy, unlabeled: dict[str, list[str]]) -> str:
        """Move inference to ONNX Runtime if asked, checked on held-out (unlabelled) texts."""
        if self.runtime == "torch":
            return "torch"
        check = {instruction: texts[:CHECK_TEXTS] for instruction, texts in unlabeled.items()}
        with tempfile.TemporaryDirectory() as folder:  # the session keeps the graph in memory
            report = proxy.accelerate(check, folder, self.runtime)
        verdict = "used" if report.used else "refused"
        self.log(f"  runtime {report.runtime} ({verdict}: {report.reason})")
        return report.runtime

    def _test_docs(self, task: BenchTask) -> Sequence[Any]:
        return task.test[: self.max_test] if self.max_test else task.test

    def _evaluate(
        self, proxy: Proxy, task: BenchTask, seed: int, seconds: float, report: dict[str, Any]
    ) -> ProxyBenchResult:
        docs = self._test_docs(task)
        expected = [d.example() for d in docs]
        guarded = proxy.runtime if isinstance(proxy.runtime, GuardedInt8Runtime) else None
        if guarded:
            guarded.reset_counts()  # count the test's windows, not the check's
        started = time.perf_counter()
        check = check_answers(proxy, task.instruction, task.kind, expected)
        elapsed = time.perf_counter() - started
        # what int8's speed on test cost: the share of windows fp32 answered again
        recomputed = guarded.recomputed_share if guarded else None
        scores: dict[str, float] = dict(check.scores.to_dict())
        headline = check.score(task.metric)
        report = {**report, "calibration": calibration_on_test(proxy, task, docs, check)}
        if recomputed is not None:
            report["recomputed_share"] = round(recomputed, 4)
        result = ProxyBenchResult(
            task=task.name,
            n=self.n,
            seed=seed,
            metric="accuracy"
            if task.metric == "accuracy"
            else ("f1" if task.kind == "label" else "exact_f1"),
            score=headline,
            scores=scores,
            train_seconds=seconds,
            docs_per_second=len(docs) / elapsed,
            multitask=self.multitask,
            backbone=self.backbone,
            train=report,
        )
        share = "" if recomputed is None else f" ({recomputed:.1%} of windows recomputed in fp32)"
        self.log(
            f"  {task.name}: {result.metric} {headline:.4f} | train {seconds:.0f}s | "
            f"{result.docs_per_second:.0f} docs/s{share}"
        )
        return result

    def _cross(self, proxy: Proxy, seed: int) -> list[CrossResult]:
        """Every span task's instruction on every other span task's texts; label ones likewise."""
        crosses = []
        for text_task in self.tasks:
            docs = self._test_docs(text_task)
            texts = [d.text for d in docs]
            for other in self.tasks:
                if other is text_task or other.kind != text_task.kind:
                    continue
                crosses.append(self._cross_one(proxy, text_task, other, texts, docs, seed))
        return crosses

    def _cross_one(
        self,
        proxy: Proxy,
        text_task: BenchTask,
        other: BenchTask,
        texts: list[str],
        docs: Sequence[Any],
        seed: int,
    ) -> CrossResult:
        if text_task.kind == "span":
            spans = [r.spans for r in proxy.get_span(texts, other.instruction)]
            scores = score_spans(spans, [d.spans or () for d in docs])
            result = CrossResult(
                text_task.name, other.name, seed, scores.n_predicted, scores.precision
            )
        else:
            labels = [r.value for r in proxy.get_label(texts, other.instruction)]
            label_scores = score_labels(labels, [bool(d.label) for d in docs])
            result = CrossResult(
                text_task.name,
                other.name,
                seed,
                sum(labels),
                label_scores.precision,
                positive_rate=sum(labels) / max(len(labels), 1),
            )
        self.log(
            f"  cross: '{other.name}' instruction on {text_task.name} texts -> "
            f"{result.n_predicted} predicted, precision vs {text_task.name} gold "
            f"{result.precision_against_text_task:.3f}"
        )
        return result


def calibration_on_test(
    proxy: Proxy, task: BenchTask, docs: Sequence[GoldDoc], calibrated: AnswerCheck | None = None
) -> dict[str, float]:
    """Expected calibration error of the proxy's confidences on test documents, with the
    fitted temperature (`calibrated`: that check, if it is already made) and without it
    (what temperature scaling bought)."""
    temperatures = proxy.config.temperatures
    fitted = temperatures.get(task.instruction, 1.0)
    expected = [d.example() for d in docs]
    checked = calibrated or check_answers(proxy, task.instruction, task.kind, expected)
    temperatures[task.instruction] = 1.0
    try:
        raw = check_answers(proxy, task.instruction, task.kind, expected)
    finally:
        temperatures[task.instruction] = fitted
    return {
        "temperature": fitted,
        "ece": round(checked.calibration_error, 4),
        "ece_uncalibrated": round(raw.calibration_error, 4),
    }
