"""`mine`: an instruction and a corpus in, structured results and a report out.

plan -> annotate a sample for every step (LLM) -> train one proxy for all steps -> execute
over the whole corpus (proxy) -> report. Each stage leaves its product in the run folder
(plan.json, annotations/, proxy/, results, checkpoint) and reuses it when it is already
there and still fits, so rerunning a crashed or interrupted command resumes it. `apply`
(`engine.apply`) reuses a finished run's plan and proxy on another corpus without any LLM.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from falconer.annotator.active import ActiveAnnotation, ActiveOptions, Question
from falconer.annotator.annotator import Annotator
from falconer.annotator.records import AnnotationRun, save_run
from falconer.core.callbacks import Log, Progress
from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.core.metrics import LabelScores
from falconer.core.spans import checked_span_type
from falconer.core.tasks import Example, Kind, TaskData
from falconer.engine.acceleration import (
    accelerate_for,
    check_runtime,
    served_runtime,
)
from falconer.engine.answerers import LLMAnswerer
from falconer.engine.budget import LLMBudget
from falconer.engine.cascade import (
    CascadeAnswerer,
    UnsureRecorder,
    budget_cut,
    choose_threshold,
    threshold_at,
)
from falconer.engine.corpus import Corpus, no_documents, sample_documents
from falconer.engine.execution import Execution, ExecutionReport
from falconer.engine.executor import Answerer, PlanExecutor
from falconer.engine.ray_engine import RayOptions, execute_on_ray
from falconer.engine.report import RunReport, total_usage
from falconer.engine.run_folder import (
    ANNOTATIONS_DIR,
    ONNX_DIR,
    PLAN_FILE,
    PROXY_DIR,
    STEP_TEACHERS_DIR,
    TEACHER_DIR,
    TEACHER_TRAINING_FILE,
    TRAINING_FILE,
    fingerprint,
    locked_run_folder,
    recorded_fingerprint,
    recorded_learning_rate,
    reusable_run,
    runtime_part,
    save_run_cost,
)
from falconer.engine.sinks import write_atomically
from falconer.llm.base import LLMBackend
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.plan.expressions import affirmed
from falconer.plan.schema import Plan, Step
from falconer.planner import Planner
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.checks import beats_constant_answers, check_answers
from falconer.proxy.distillation import (
    SPAN_TEACHER_FLOOR,
    STEP_TEACHER_POOL,
    Lesson,
    taught_tasks,
)
from falconer.proxy.runtimes import RuntimeSpec

# corpus documents the proxy answers before a budgeted cascade, to see where the budget goes
BUDGET_SAMPLE = 1000


@dataclass
class MineOptions:
    llm: str = "embedded"
    n_annotate: int = 100
    held_out: float = 0.25
    seed: int = 0
    threads: int | None = None
    use_cache: bool = True
    min_steps: int = 300
    backbone: str = "default"
    output_format: str = "parquet"
    batch_size: int = 256
    restart: bool = False
    verify_spans: bool = False
    engine: str = "local"  # or "ray"
    ray: RayOptions | None = None
    # Corpus documents shown to the planner. Off by default: the embedded 0.5B model copies
    # from them instead of following the request (it planned "Is this person a player?" for
    # "Extract the names of people." when shown sports news).
    plan_examples: int = 0
    # the cascade: defer unsure documents to the LLM to reach this agreement with LLM-only
    target_agreement: float | None = None
    # what the cascade may spend on the LLM at most: calls (500), a share of the corpus's
    # documents ("30%") or dollars ("$2.50"); see engine.budget
    llm_budget: int | str | None = None
    # active annotation: a random first round, then the documents the proxy is least sure of,
    # up to `n_annotate` per step or until held-out agreement stops improving
    active: bool = False
    active_start: int = 48
    active_step: int = 32
    active_pool: int = 2000  # documents sampled from the corpus to choose from
    # unannotated documents sampled from the corpus on which a soft-target label step's
    # decisions are centred on the annotator's yes-share (see proxy.calibration)
    offset_pool: int = 1000
    # what runs the proxy in the execute stage: auto (bf16 on CPUs that compute it natively,
    # else onnx-int8), torch, bf16, onnx or onnx-int8 (all but torch only once they agree
    # with PyTorch fp32; see `engine.acceleration`)
    runtime: str = "auto"
    # distillation: train a proxy on this (larger) backbone first and teach the `backbone`
    # proxy, which executes, from its answers on up to `distil_pool` unannotated documents
    distil_from: str | None = None
    distil_pool: int = 4000
    # without distil_from, each step of a plan (one alone too) is fitted alone first,
    # to answer up to `teacher_pool` unannotated documents for the proxy that executes
    # (see proxy.distillation); the fit that follows grows with the pool
    step_teachers: bool = True
    teacher_pool: int = STEP_TEACHER_POOL
    # the kind of name every get_span step's spans must be, for plans that do not say
    # (the planner never does); the annotator type-checks what the LLM extracts
    span_type: str | None = None


@dataclass
class _Learned:
    """What the annotate and train stages hand to the execute stage."""

    runs: dict[str, AnnotationRun]  # step id -> its annotations
    proxy: Proxy
    held: dict[str, list[Example]]  # step id -> held-out annotations
    unannotated: dict[str, list[str]]  # a label step's instruction -> texts it never saw
    lessons: dict[str, Lesson]  # instruction -> what its teacher taught


class Miner:
    """One run folder, one corpus: `run` does (or resumes) the whole job."""

    def __init__(
        self,
        output: Path,
        options: MineOptions | None = None,
        log: Log = print,
        progress: Progress | None = None,
    ) -> None:
        self.output = output
        self.options = options or MineOptions()
        self.log = log
        self.progress = progress
        self._backend: LLMBackend | None = None
        if not 0 <= self.options.held_out < 1:
            raise InputError(f"held-out share must be in [0, 1), got {self.options.held_out}")
        check_runtime(self.options.runtime)
        if self.options.n_annotate < 4:
            raise InputError(
                f"annotate at least 4 documents per step, not {self.options.n_annotate}"
            )
        checked_span_type(self.options.span_type)
        if self.options.distil_pool < 1:
            raise InputError(f"distil from at least 1 document, not {self.options.distil_pool}")
        if self.options.teacher_pool < 1:
            raise InputError(f"teach from at least 1 document, not {self.options.teacher_pool}")
        # parsed and checked here so that a typo fails before any LLM call
        for backbone in (self.options.backbone, self.options.distil_from):
            if backbone is not None:
                Proxy.check_source(backbone)
        budget = self.options.llm_budget
        self.budget = None if budget is None else LLMBudget.parse(budget)

    def run(
        self,
        corpus: Corpus,
        instruction: str | None = None,
        plan: Plan | None = None,
        given: Mapping[str, AnnotationRun] | None = None,
    ) -> RunReport:
        """The whole job; `given` annotations (step id -> run, e.g. gold labels of an oracle
        annotator in a benchmark) replace the LLM's for those steps."""
        with locked_run_folder(self.output, corpus.path):
            return self._run(corpus, instruction, plan, given)

    def _run(
        self,
        corpus: Corpus,
        instruction: str | None,
        plan: Plan | None,
        given: Mapping[str, AnnotationRun] | None,
    ) -> RunReport:
        seconds: dict[str, float] = {}
        usage: dict[str, dict[str, float]] = {}
        started = time.perf_counter()
        active = self._annotates_actively(given)
        # one pass over the corpus: the documents to annotate, or for active annotation the
        # pool it chooses them from
        size = self.options.active_pool if active else self.options.n_annotate
        sample = sample_documents(corpus, size, self.options.seed)
        if not sample:
            raise no_documents(corpus)
        plan, plan_usage = self._plan(instruction, plan, sample)
        seconds["plan"] = time.perf_counter() - started
        usage["plan"] = total_usage([plan_usage])
        curve: list[dict[str, Any]] = []
        learned = self._learn(plan, sample, corpus, given or {}, seconds, curve)
        proxy = learned.proxy
        usage["annotate"] = total_usage(run.usage for run in learned.runs.values())
        checks, steps = self._checked_steps(plan, learned)
        answerer = self._answerer(plan, proxy, checks, steps, corpus, usage["annotate"])
        self._release_llm()  # a cascade loads it again for its first question
        started = time.perf_counter()
        runtime = self._accelerate(proxy, plan, corpus)
        if runtime["checked"]:  # a stage only when one ran
            seconds["accelerate"] = time.perf_counter() - started
        started = time.perf_counter()
        execution = self._execute(plan, answerer, corpus, served_runtime(proxy))
        seconds["execute"] = time.perf_counter() - started
        if isinstance(answerer, CascadeAnswerer):
            _cascade_summary(answerer, plan, steps)
            usage["execute"] = total_usage([answerer.llm.annotator.client.meter.report()])
        report = RunReport(
            "mine",
            str(corpus.path),
            plan.to_neutral(),
            instruction,
            self.options.llm,
            steps,
            seconds,
            usage,
            execution.to_dict(),
        )
        report.learning_curve = curve
        report.execute["runtime"] = runtime
        report.outputs = self._outputs(execution)
        report.save(self.output)
        return report

    def _learn(
        self,
        plan: Plan,
        sample: Sequence[Document],
        corpus: Corpus,
        given: Mapping[str, AnnotationRun],
        seconds: dict[str, float],
        curve: list[dict[str, Any]],
    ) -> _Learned:
        """Annotate and train: in active rounds, or on one sample; a step teacher per step or
        a larger-backbone teacher first when asked. `sample` is the active loop's pool or the
        documents to annotate."""
        lessons: dict[str, Lesson] = {}
        if self._annotates_actively(given):
            runs, proxy, held, train = self._learn_actively(plan, sample, seconds, curve)
            unannotated = self._unannotated(plan, sample, runs)
            if self.options.distil_from:  # teach the loop's final tasks, then retrain on them
                held_by = _by_instruction(plan, held)
                proxy, lessons = self._taught(train, unannotated, corpus, runs, held_by, seconds)
            return _Learned(runs, proxy, held, unannotated, lessons)
        started = time.perf_counter()
        runs = self._annotate(plan, sample, given)
        # a reused step counts the seconds it took when it was annotated
        earlier = sum(run.seconds for step_id, run in runs.items() if step_id not in given)
        seconds["annotate"] = max(time.perf_counter() - started, earlier)
        train, held = self._split(plan, runs)
        started = time.perf_counter()
        unannotated = self._unannotated(plan, self._offset_sample(corpus), runs)
        if self.options.distil_from:
            held_by = _by_instruction(plan, held)
            proxy, lessons = self._taught(train, unannotated, corpus, runs, held_by, seconds)
        else:
            train, lessons = self._taught_by_steps(plan, train, unannotated, corpus, runs, seconds)
            proxy = self._train(train, unannotated)
            seconds["train"] = time.perf_counter() - started - seconds.get("teach", 0.0)
        return _Learned(runs, proxy, held, unannotated, lessons)

    def _annotates_actively(self, given: Mapping[str, AnnotationRun] | None) -> bool:
        """Given annotations (a benchmark's gold) leave nothing for active rounds to choose."""
        return self.options.active and not given

    def _checked_steps(
        self, plan: Plan, learned: _Learned
    ) -> tuple[dict[str, HeldOutCheck], list[dict[str, Any]]]:
        """Each step's held-out check, and its summary for the report: annotations, check,
        the filter threshold fitted for it, what its teacher taught."""
        proxy, held = learned.proxy, learned.held
        thresholds = self._fit_filter_thresholds(plan, proxy, learned.unannotated)
        checks = {step.id: held_out_check(proxy, step, held[step.id]) for step in plan.steps}
        steps = []
        for step in plan.steps:
            summary = _step_summary(step, learned.runs[step.id], checks[step.id])
            if step.id in thresholds:
                summary["filter_threshold"] = thresholds[step.id]
            if step.instruction in learned.lessons:
                summary["distilled"] = learned.lessons[step.instruction].to_dict()
            steps.append(summary)
        return checks, steps

    def run_llm_only(
        self, corpus: Corpus, instruction: str | None = None, plan: Plan | None = None
    ) -> RunReport:
        """The baseline: the LLM answers every step for every document (no proxy)."""
        with locked_run_folder(self.output, corpus.path):
            return self._run_llm_only(corpus, instruction, plan)

    def _run_llm_only(
        self, corpus: Corpus, instruction: str | None, plan: Plan | None
    ) -> RunReport:
        sample = sample_documents(corpus, 3, self.options.seed)
        started = time.perf_counter()
        plan, plan_usage = self._plan(instruction, plan, sample)
        seconds = {"plan": time.perf_counter() - started}
        answerer = LLMAnswerer(self._annotator(), plan.span_types)
        started = time.perf_counter()
        execution = self._execute(plan, answerer, corpus)
        seconds["execute"] = time.perf_counter() - started
        self._release_llm()
        usage = {
            "plan": total_usage([plan_usage]),
            "execute": total_usage([answerer.annotator.client.meter.report()]),
        }
        report = RunReport(
            "llm-only",
            str(corpus.path),
            plan.to_neutral(),
            instruction,
            self.options.llm,
            [],
            seconds,
            usage,
            execution.to_dict(),
        )
        report.execute["llm_failures"] = len(answerer.failures)
        report.outputs = self._outputs(execution)
        report.save(self.output)
        return report

    # stages ---------------------------------------------------------------------------

    def _plan(
        self, instruction: str | None, plan: Plan | None, sample: Sequence[Document]
    ) -> tuple[Plan, dict[str, Any]]:
        path = self.output / PLAN_FILE
        if plan is not None:
            plan = self._typed(plan)
            write_atomically(path, plan.to_json())
            return plan, {}
        if instruction is None or not instruction.strip():
            raise InputError("give an instruction or a plan")
        saved = self.output / "instruction.txt"
        if path.is_file() and saved.is_file() and saved.read_text() == instruction:
            self.log(f"reusing the plan in {path}")
            return self._typed(Plan.from_json(path.read_text())), {}
        self.log(f"planning with {self.options.llm}")
        planner = Planner(self._client())
        examples = [d.text for d in sample[: self.options.plan_examples]]
        result = planner.plan_sync(instruction, examples)
        if result.note:
            self.log(f"note: {result.note}")
        plan = self._typed(result.plan)
        write_atomically(path, plan.to_json())
        write_atomically(saved, instruction)
        self.log(plan.to_yaml())
        return plan, result.usage

    def _typed(self, plan: Plan) -> Plan:
        span_type = self.options.span_type
        return plan if span_type is None else plan.with_span_type(span_type)

    def _annotate(
        self, plan: Plan, sample: Sequence[Document], given: Mapping[str, AnnotationRun]
    ) -> dict[str, AnnotationRun]:
        runs = {}
        for step in plan.steps:
            path = self.output / ANNOTATIONS_DIR / f"{step.id}.jsonl"
            if step.id in given:
                runs[step.id] = given[step.id]
                save_run(given[step.id], path)
                continue
            reused = reusable_run(path, step, sample)
            if reused is not None:
                self.log(f"reusing {len(reused.annotations)} annotations in {path}")
                runs[step.id] = reused
                continue
            self.log(f"annotating {len(sample)} documents for {step.id}: {step.instruction!r}")
            tick = self._tick(step)
            annotating = self._annotator().annotate(
                step.instruction,
                step.kind,
                sample,
                tick,
                span_type=step.span_type,
            )
            run = asyncio.run(annotating)
            if not run.annotations:
                reasons = sorted({f.reason for f in run.failures})[:3]
                raise InputError(f"the LLM annotated none of the sample for {step.id}: {reasons}")
            save_run(run, path)
            save_run_cost(run, path)
            self.log(f"  {len(run.annotations)} annotated, {len(run.failures)} failed")
            runs[step.id] = run
        return runs

    def _learn_actively(
        self,
        plan: Plan,
        pool: Sequence[Document],
        seconds: dict[str, float],
        curve: list[dict[str, Any]],
    ) -> tuple[dict[str, AnnotationRun], Proxy, dict[str, list[Example]], list[TaskData]]:
        """Annotate and train in rounds (see `annotator.active`); every step's annotations so
        far are saved after each round, and the LLM cache makes a rerun of a crashed loop
        free up to where it stopped. Also returns the last round's training tasks, which a
        teacher then learns from."""
        step_of = {step.instruction: step for step in plan.steps}
        runs = {step.id: AnnotationRun(step.instruction, step.kind) for step in plan.steps}
        # one annotator per step for all rounds: its meter adds up the step's usage
        annotators = {step.id: self._annotator() for step in plan.steps}
        seconds["annotate"] = seconds["train"] = 0.0

        def annotate(instruction: str, kind: Kind, docs: Sequence[Document]) -> dict[str, Example]:
            started = time.perf_counter()
            step = step_of[instruction]
            self.log(f"annotating {len(docs)} documents for {step.id}: {instruction!r}")
            annotator = annotators[step.id]
            annotating = annotator.annotate(
                instruction, kind, docs, self._tick(step), span_type=step.span_type
            )
            run = asyncio.run(annotating)
            total = runs[step.id]
            total.annotations.extend(run.annotations)
            total.failures.extend(run.failures)
            total.usage = run.usage  # the meter's running total over all rounds so far
            total.seconds += run.seconds
            save_run(runs[step.id], self.output / ANNOTATIONS_DIR / f"{step.id}.jsonl")
            seconds["annotate"] += time.perf_counter() - started
            return {a.doc_id: a.example() for a in run.annotations}

        def train(tasks: list[TaskData]) -> Proxy:
            started = time.perf_counter()
            proxy = self._train(tasks, self._unannotated(plan, pool, runs))
            seconds["train"] += time.perf_counter() - started
            return proxy

        options = ActiveOptions(
            start=min(self.options.active_start, self.options.n_annotate),
            step=self.options.active_step,
            budget=self.options.n_annotate,
            held_out=self.options.held_out,
            pool=self.options.active_pool,
            # cascade thresholds come from the held-out slice: keep it out of model selection
            select_on_held_out=self.options.target_agreement is None,
            seed=self.options.seed,
        )
        questions = [Question(step.instruction, step.kind) for step in plan.steps]
        result = ActiveAnnotation(questions, pool, annotate, train, options, log=self.log).run()
        curve.extend(r.to_dict() for r in result.rounds)
        curve.append({"stopped": result.stopped})
        held = {step.id: result.held_out[step.instruction] for step in plan.steps}
        return runs, result.proxy, held, result.train

    def _tick(self, step: Step) -> Callable[[int, int], None]:
        def tick(done: int, total: int) -> None:
            if self.progress:
                self.progress(f"annotate {step.id}", done, total)

        return tick

    def _split(
        self, plan: Plan, runs: dict[str, AnnotationRun]
    ) -> tuple[list[TaskData], dict[str, list[Example]]]:
        """Hold a share of each step's annotations out of training, to measure agreement. It
        also picks the checkpoint and fits the temperature, as in active annotation (else the
        trainer would hold out a second slice and train on a sixth less of what was paid
        for); only a cascade, whose thresholds are set on it, keeps it out of model choice."""
        train, held = [], {}
        selecting = self.options.target_agreement is None
        for step in plan.steps:
            run = runs[step.id]
            examples = [a.example() for a in run.annotations]
            random.Random(self.options.seed).shuffle(examples)
            cut = round(len(examples) * self.options.held_out)
            held[step.id] = examples[:cut]
            dev = examples[:cut] if selecting else []
            train.append(TaskData(step.instruction, step.kind, examples[cut:], dev))
        return train, held

    def _offset_sample(self, corpus: Corpus) -> list[Document]:
        """Corpus documents for `_unannotated`; a second pass over the corpus, so only made
        when training centres decisions on them."""
        if not self._train_config().offset_on_unlabeled or self.options.offset_pool <= 0:
            return []
        size = self.options.offset_pool + self.options.n_annotate
        return sample_documents(corpus, size, self.options.seed + 1)

    def _fit_filter_thresholds(
        self, plan: Plan, proxy: Proxy, unannotated: Mapping[str, Sequence[str]]
    ) -> dict[str, float]:
        """Step id -> the P(yes) above which each label step the filter lets documents through
        on says yes: the records a filter passes are judged like an extraction, by F1, and an
        unsure proxy reaches a better F1 keeping more than its expected share of yes (see
        `Proxy.fit_filter_threshold`). Fitted on the same unannotated texts as the offset."""
        if plan.filter_expression is None:
            return {}
        gates = affirmed(plan.filter_expression)
        thresholds = {}
        for step in plan.steps:
            if step.id in gates and step.kind == "label":
                texts = unannotated.get(step.instruction, ())
                threshold = proxy.fit_filter_threshold(step.instruction, texts)
                if threshold is not None:
                    thresholds[step.id] = threshold
                    self.log(f"{step.id} lets documents through at P(yes) >= {threshold:.3f}")
        if thresholds:  # `_train` saved the weights there
            proxy.save_config(self.output / PROXY_DIR)
        return thresholds

    def _train_config(self) -> TrainConfig:
        return TrainConfig(
            seed=self.options.seed, threads=self.options.threads, min_steps=self.options.min_steps
        )

    def _unannotated(
        self, plan: Plan, sample: Sequence[Document], runs: Mapping[str, AnnotationRun]
    ) -> dict[str, list[str]]:
        """Per label step, up to `offset_pool` texts of `sample` its annotator never saw: the
        proxy's decisions are centred on how often the annotator says yes over texts like
        these, which the proxy was not fitted to."""
        labels = [step for step in plan.steps if step.kind == "label"]
        if not labels or self.options.offset_pool <= 0:
            return {}
        pools = {}
        for step in labels:
            seen = {a.doc_id for a in runs[step.id].annotations}
            texts = [doc.text for doc in sample if doc.id not in seen]
            pools[step.instruction] = texts[: self.options.offset_pool]
        return pools

    def _taught(
        self,
        tasks: list[TaskData],
        unannotated: Mapping[str, Sequence[str]],
        corpus: Corpus,
        runs: Mapping[str, AnnotationRun],
        held: Mapping[str, Sequence[Example]],
        seconds: dict[str, float],
    ) -> tuple[Proxy, dict[str, Lesson]]:
        """Train the teacher on the annotations, add its answers on unannotated documents to
        what the executing proxy learns from (see `proxy.distillation`), then train that proxy
        on them; the training adds to any earlier (active) rounds'. A teacher no better than
        a constant answer on a step's held-out annotations (`held`, by instruction) is
        trained again at half the rate; a step it still fails learns from its annotations
        alone."""
        started = time.perf_counter()
        teacher = self._train(tasks, unannotated, teacher=True)
        weak = self._weak_steps(teacher, tasks, held)
        untaught: set[str] = set()
        if weak:
            rate = recorded_learning_rate(self.output / TEACHER_TRAINING_FILE) / 2
            self.log(
                f"the teacher answers {len(weak)} step(s) no better than a constant answer on "
                f"the held-out annotations: training it again at learning rate {rate:g}"
            )
            teacher = self._train(tasks, unannotated, teacher=True, learning_rate=rate)
            untaught = self._weak_steps(teacher, tasks, held)
            if untaught:
                self.log(f"still no better: {len(untaught)} step(s) learn from annotations alone")
        sound = [task for task in tasks if task.instruction not in untaught]
        texts = self._teaching_texts(corpus, runs, self.options.distil_pool)
        self.log(
            f"teaching the {self.options.backbone!r} proxy with the {self.options.distil_from!r} "
            f"proxy's answers on {len(texts)} unannotated documents"
        )
        taught_sound, taught_lessons = taught_tasks(teacher, sound, texts, self.progress)
        lessons = {
            lesson.instruction: replace(lesson, retried=lesson.instruction in weak)
            for lesson in taught_lessons
        }
        lessons |= {i: Lesson(i, 0, None, None, retried=True, untaught=True) for i in untaught}
        by_instruction = {task.instruction: task for task in taught_sound}
        taught = [by_instruction.get(task.instruction, task) for task in tasks]
        seconds["teach"] = time.perf_counter() - started
        started = time.perf_counter()
        proxy = self._train(taught, unannotated)
        seconds["train"] = seconds.get("train", 0.0) + time.perf_counter() - started
        return proxy, lessons

    def _taught_by_steps(
        self,
        plan: Plan,
        tasks: list[TaskData],
        unannotated: Mapping[str, Sequence[str]],
        corpus: Corpus,
        runs: Mapping[str, AnnotationRun],
        seconds: dict[str, float],
    ) -> tuple[list[TaskData], dict[str, Lesson]]:
        """Each step of the plan fitted alone (kept in step-teachers/) and its answers on
        unannotated texts added to its annotations, so a one-step plan's proxy is fitted
        twice (see proxy.distillation); the time it took is `teach`. A yes/no step answers the
        texts its decisions are centred on (`unannotated`), a span step corpus documents no
        step annotated, and only its sure answers are taught.
        `tasks` are the plan's steps' training data, in step order (`_split`)."""
        if not self.options.step_teachers:
            return tasks, {}
        started = time.perf_counter()
        spans = any(task.kind == "span" for task in tasks)
        pool_size = self.options.teacher_pool
        span_texts = self._teaching_texts(corpus, runs, pool_size) if spans else []
        taught, lessons = [], {}
        for step, task in zip(plan.steps, tasks, strict=True):
            pool = unannotated.get(task.instruction, ()) if task.kind == "label" else span_texts
            texts = list(pool)[:pool_size]
            if not texts:
                taught.append(task)
                continue
            folder = f"{STEP_TEACHERS_DIR}/{step.id}"
            teacher = self._train([task], {task.instruction: texts}, subfolder=folder)
            (with_answers,), (lesson,) = taught_tasks(
                teacher, [task], texts, self.progress, SPAN_TEACHER_FLOOR
            )
            taught.append(with_answers)
            lessons[task.instruction] = replace(lesson, step_teacher=True)
        if lessons:
            seconds["teach"] = time.perf_counter() - started
        return taught, lessons

    @staticmethod
    def _weak_steps(
        teacher: Proxy, tasks: Sequence[TaskData], held: Mapping[str, Sequence[Example]]
    ) -> set[str]:
        """Instructions whose held-out annotations the teacher answers no better than a
        constant answer (`proxy.checks.beats_constant_answers`)."""
        return {
            task.instruction
            for task in tasks
            if held.get(task.instruction)
            and not beats_constant_answers(
                teacher, task.instruction, task.kind, held[task.instruction]
            )
        }

    def _teaching_texts(
        self, corpus: Corpus, runs: Mapping[str, AnnotationRun], pool: int
    ) -> list[str]:
        """Up to `pool` corpus documents no step annotated (nor tried to)."""
        seen = {a.doc_id for run in runs.values() for a in run.annotations}
        seen |= {f.doc_id for run in runs.values() for f in run.failures}
        sample = sample_documents(corpus, pool + len(seen), self.options.seed + 2)
        return [doc.text for doc in sample if doc.id not in seen][:pool]

    def _train(
        self,
        tasks: list[TaskData],
        unannotated: Mapping[str, Sequence[str]] | None = None,
        teacher: bool = False,
        learning_rate: float | None = None,
        subfolder: str | None = None,
    ) -> Proxy:
        """Train (or reuse, when nothing it depends on changed) the proxy that executes, or
        with `teacher` the larger-backbone one that teaches it, or one kept in `subfolder` (a
        step teacher); a teacher trained again at another `learning_rate` is kept apart
        (teacher-retry/), so a rerun reuses both."""
        backbone = (self.options.distil_from if teacher else None) or self.options.backbone
        folder = self.output / (subfolder or (TEACHER_DIR if teacher else PROXY_DIR))
        record = self.output / (TEACHER_TRAINING_FILE if teacher else TRAINING_FILE)
        if subfolder:
            record = folder.with_name(f"{folder.name}-training.json")
        if learning_rate is not None:
            folder = folder.with_name(f"{folder.name}-retry")
            record = record.with_name(f"{record.stem}-retry{record.suffix}")
        config = replace(self._train_config(), learning_rate=learning_rate)
        unannotated = unannotated or {}
        key = fingerprint(backbone, config.to_dict(), tasks, unannotated)
        if Proxy.is_saved(folder) and recorded_fingerprint(record) == key:
            self.log(f"reusing the proxy in {folder}")
            return Proxy.from_pretrained(folder, threads=self.options.threads)
        self._release_llm()  # the next active round loads it again
        role = "the teacher" if teacher else ("a step teacher" if subfolder else "one proxy")
        self.log(f"training {role} for {len(tasks)} steps on {backbone!r}")
        proxy = Proxy.from_pretrained(backbone, threads=self.options.threads)
        train_report = proxy.fit(tasks, unannotated, config=config, progress=self.progress)
        proxy.save_pretrained(folder)
        details = {"fingerprint": key, "report": train_report.to_dict()}
        write_atomically(record, json.dumps(details, indent=2, default=str))
        return proxy

    def _answerer(
        self,
        plan: Plan,
        proxy: Proxy,
        checks: dict[str, HeldOutCheck],
        steps: list[dict[str, Any]],
        corpus: Corpus,
        annotate_usage: Mapping[str, float],
    ) -> Answerer:
        """The proxy, or with a target agreement the cascade, its thresholds chosen on the
        held-out annotations and lowered to what the budget pays for (recorded in each step's
        summary)."""
        target = self.options.target_agreement
        if target is None:
            return proxy
        if self.options.engine == "ray":
            raise InputError("the cascade runs on the local engine; drop --engine ray")
        thresholds = {}
        for step, summary in zip(plan.steps, steps, strict=True):
            check = checks[step.id]
            threshold = choose_threshold(check.confidences, check.agrees, target)
            thresholds[step.instruction] = threshold.value
            summary["cascade"] = threshold.to_dict()
        llm = LLMAnswerer(self._annotator(), plan.span_types)
        budget = self.budget
        if budget is None:
            return CascadeAnswerer(proxy, llm, thresholds)
        paid = annotate_usage.get("calls", 0.0)
        per_call = annotate_usage.get("cost_usd", 0.0) / paid if paid else None
        documents = corpus.count()
        limit = budget.limit(documents, per_call)
        unit = "documents" if budget.per_document else "calls"
        self.log(f"LLM budget: {budget} = {limit} {unit}")
        for summary in steps:
            summary["cascade"]["budget"] = {"limit": limit, "unit": unit}
        thresholds = self._within_budget(
            plan, proxy, thresholds, corpus, documents, limit, budget.per_document
        )
        for step, summary in zip(plan.steps, steps, strict=True):
            value = thresholds[step.instruction]
            if value < summary["cascade"]["value"]:  # lowered to what the budget pays for
                check = checks[step.id]
                at = threshold_at(check.confidences, check.agrees, value, target)
                summary["cascade"]["within_budget"] = at.to_dict()
        return CascadeAnswerer(proxy, llm, thresholds, limit, budget.per_document)

    def _within_budget(
        self,
        plan: Plan,
        proxy: Proxy,
        thresholds: dict[str, float],
        corpus: Corpus,
        documents: int,
        limit: int,
        per_document: bool,
    ) -> dict[str, float]:
        """Thresholds lowered so that the least sure answers (or documents) of all steps fill
        the budget, judged by the proxy's answers on a sample of the corpus (the limit stays as
        a guard): otherwise the first batches of the corpus would spend it all."""
        sample = sample_documents(corpus, BUDGET_SAMPLE, self.options.seed + 3)
        recorder = UnsureRecorder(proxy, thresholds)
        PlanExecutor(plan, recorder).run(sample)
        unsure = list(recorder.documents.values()) if per_document else recorder.answers
        cut = budget_cut(unsure, documents / max(len(sample), 1), limit)
        if cut is None:
            return thresholds
        return {instruction: min(value, cut) for instruction, value in thresholds.items()}

    def _accelerate(self, proxy: Proxy, plan: Plan, corpus: Corpus) -> dict[str, Any]:
        folder = self.output / ONNX_DIR
        return accelerate_for(proxy, plan, corpus, folder, self.options.runtime, self.log)

    def _execute(
        self,
        plan: Plan,
        answerer: Answerer,
        corpus: Corpus,
        runtime: RuntimeSpec | None = None,
    ) -> ExecutionReport:
        self.log(f"executing the plan over {corpus.path} with the {answerer.name}")
        if self.options.engine == "ray":
            if answerer.name != "proxy":
                raise InputError("the Ray engine runs the proxy; LLM-only runs use the local one")
            ray = self.options.ray or RayOptions()
            return execute_on_ray(plan, self.output / PROXY_DIR, corpus, self.output, ray, runtime)
        return Execution(
            plan,
            answerer,
            corpus,
            self.output,
            self.options.output_format,
            self.options.batch_size,
            self.options.restart,
            self.progress,
            identity=self._identity(answerer),
        ).run()

    def _identity(self, answerer: Answerer) -> str:
        """What the answers depend on besides the plan and corpus."""
        parts: dict[str, Any] = {}
        if isinstance(answerer, Proxy | CascadeAnswerer):
            parts["proxy"] = recorded_fingerprint(self.output / TRAINING_FILE)
            parts |= runtime_part(
                answerer.proxy if isinstance(answerer, CascadeAnswerer) else answerer
            )
        if isinstance(answerer, LLMAnswerer | CascadeAnswerer):
            parts["llm"] = self.options.llm
        if isinstance(answerer, CascadeAnswerer):
            parts["thresholds"] = answerer.thresholds
            parts["budget"] = [answerer.deferrals.budget, answerer.deferrals.per_document]
        return json.dumps(parts, sort_keys=True)

    def _outputs(self, execution: ExecutionReport) -> dict[str, str]:
        outputs = {
            "results": execution.results,
            "rejects": execution.rejects,
            "plan": str(self.output / PLAN_FILE),
        }
        if (self.output / PROXY_DIR).is_dir():
            outputs["proxy"] = str(self.output / PROXY_DIR)
        if (self.output / ANNOTATIONS_DIR).is_dir():
            outputs[ANNOTATIONS_DIR] = str(self.output / ANNOTATIONS_DIR)
        return outputs

    # LLM ------------------------------------------------------------------------------

    def _client(self) -> LLMClient:
        if self._backend is None:
            self._backend = create_backend(
                self.options.llm, threads=self.options.threads or 2, slots=2
            )
        cache = ResponseCache(default_cache_path()) if self.options.use_cache else None
        return LLMClient(self._backend, cache=cache)

    def _release_llm(self) -> None:
        """Free an in-process LLM while the proxy trains or executes: a loaded embedded model
        keeps llama.cpp's threads and memory beside PyTorch's, and with it loaded (idle) the
        proxy answered sst2 reviews at a median 230/s against 268/s without, over three
        interleaved cycles on 2 cores. A network backend holds nothing worth freeing."""
        if self._backend is not None and self._backend.is_local:
            asyncio.run(self._backend.aclose())

    def _annotator(self) -> Annotator:
        """A fresh annotator (and usage meter) for each step, so costs are reported per step."""
        return Annotator(self._client(), verify_spans=self.options.verify_spans)


@dataclass(frozen=True, slots=True)
class HeldOutCheck:
    """The proxy's answers on one step's held-out LLM annotations, read once: per document
    its confidence and whether it gave the LLM's answer (the same decision; the same set
    of spans), and the agreement scores the report shows."""

    confidences: list[float]
    agrees: list[bool]
    scores: dict[str, float]


def _by_instruction(
    plan: Plan, held: Mapping[str, Sequence[Example]]
) -> dict[str, Sequence[Example]]:
    """Held-out annotations keyed by step instruction (as tasks are) instead of step id."""
    return {step.instruction: held[step.id] for step in plan.steps}


def held_out_check(proxy: Proxy, step: Step, held: Sequence[Example]) -> HeldOutCheck:
    if not held:
        return HeldOutCheck([], [], {})
    check = check_answers(proxy, step.instruction, step.kind, held)
    if isinstance(check.scores, LabelScores):
        scores = {"accuracy": check.scores.accuracy, "f1_true": check.scores.f1}
    else:
        scores = {"exact_f1": check.scores.f1, "lenient_f1": check.scores.lenient_f1}
    scores["calibration_error"] = check.calibration_error
    rounded = {name: round(value, 4) for name, value in scores.items()}
    return HeldOutCheck(check.confidences, check.matches, rounded)


def _step_summary(step: Step, run: AnnotationRun, check: HeldOutCheck) -> dict[str, Any]:
    return {
        "id": step.id,
        "op": step.op,
        "instruction": step.instruction,
        "annotated": len(run.annotations),
        "failed": len(run.failures),
        "failure_reasons": sorted({f.reason for f in run.failures})[:5],
        "held_out": len(check.agrees),
        "agreement": check.scores,
    }


def _cascade_summary(cascade: CascadeAnswerer, plan: Plan, steps: list[dict[str, Any]]) -> None:
    """What the cascade did during execution, beside what it expected on held-out data."""
    deferrals = cascade.deferrals
    for step, summary in zip(plan.steps, steps, strict=True):
        summary["cascade"]["deferred_to_llm"] = deferrals.deferred.get(step.instruction, 0)
        summary["cascade"]["unsure_over_budget"] = deferrals.over_budget.get(step.instruction, 0)
        if "budget" in summary["cascade"]:
            summary["cascade"]["budget"]["spent"] = deferrals.spent
