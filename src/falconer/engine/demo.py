"""`falconer demo`: the whole loop on the bundled corpus with the embedded LLM, offline.

A fixed two-step plan (the planner issue replaces it with a planned one): the LLM annotates a
sample for each step, one proxy learns both steps, the proxy answers for every document, and
a report says how far the proxy agrees with LLM labels it never saw, what the LLM cost and how
fast each stage ran.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falconer.annotator.annotator import Annotator
from falconer.annotator.records import AnnotationRun, save_run
from falconer.annotator.sampling import sample_random
from falconer.core.documents import Document
from falconer.core.metrics import score_labels, score_spans
from falconer.core.tasks import Example, Kind, TaskData
from falconer.engine.corpus import bundled_corpus
from falconer.engine.results import ResultRow, write_results
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend
from falconer.proxy import Proxy, TrainConfig

Log = Callable[[str], None]
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class Step:
    field: str
    instruction: str
    kind: Kind


DEMO_STEPS = (
    Step("people", "Extract the names of people.", "span"),
    Step("about_music", "Is this sentence about music?", "label"),
)


@dataclass(slots=True)
class DemoReport:
    corpus_documents: int
    llm: str
    annotated_per_step: int
    steps: list[dict[str, Any]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    execute_docs_per_second: float = 0.0
    llm_usage: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class Demo:
    output: Path
    llm: str = "embedded"
    n_annotate: int = 60
    held_out: float = 0.25
    seed: int = 0
    threads: int | None = None
    use_cache: bool = True
    min_steps: int = 300
    log: Log = print
    progress: Progress | None = None

    def run(self, steps: Sequence[Step] = DEMO_STEPS) -> DemoReport:
        docs = bundled_corpus()
        report = DemoReport(len(docs), self.llm, self.n_annotate)
        started = time.perf_counter()
        runs = self._annotate(docs, steps)
        report.seconds["annotate"] = time.perf_counter() - started
        train, held = self._split(runs)
        started = time.perf_counter()
        proxy = Proxy.from_pretrained("default", threads=self.threads)
        config = TrainConfig(seed=self.seed, threads=self.threads, min_steps=self.min_steps)
        proxy.fit(train, config=config, progress=self.progress)
        report.seconds["train"] = time.perf_counter() - started
        report.steps = [self._step_summary(proxy, s, runs[s.field], held[s.field]) for s in steps]
        started = time.perf_counter()
        rows = self._execute(proxy, docs, steps)
        report.seconds["execute"] = time.perf_counter() - started
        report.execute_docs_per_second = len(docs) * len(steps) / report.seconds["execute"]
        report.llm_usage = {s.field: runs[s.field].usage for s in steps}
        report.outputs = self._write(proxy, rows, report)
        return report

    def _annotate(
        self, docs: Sequence[Document], steps: Sequence[Step]
    ) -> dict[str, AnnotationRun]:
        backend = create_backend(self.llm, threads=self.threads or 2, slots=2)
        cache = ResponseCache(default_cache_path()) if self.use_cache else None
        sample = sample_random(docs, self.n_annotate, self.seed)
        runs = {}
        for step in steps:
            annotator = Annotator(LLMClient(backend, cache=cache))  # its own usage meter
            self.log(f"annotating {len(sample)} documents for '{step.instruction}' with {self.llm}")
            run = asyncio.run(annotator.annotate(step.instruction, step.kind, sample))
            save_run(run, self.output / "annotations" / f"{step.field}.jsonl")
            runs[step.field] = run
            self.log(f"  {len(run.annotations)} annotated, {len(run.failures)} failed")
        return runs

    def _split(
        self, runs: dict[str, AnnotationRun]
    ) -> tuple[list[TaskData], dict[str, list[Example]]]:
        """Hold a share of each step's annotations out of training, to measure agreement."""
        train, held = [], {}
        for name, run in runs.items():
            examples = [a.example() for a in run.annotations]
            random.Random(self.seed).shuffle(examples)
            cut = round(len(examples) * self.held_out)
            held[name] = examples[:cut]
            train.append(TaskData(run.instruction, run.kind, examples[cut:]))
        return train, held

    def _step_summary(
        self, proxy: Proxy, step: Step, run: AnnotationRun, held: list[Example]
    ) -> dict[str, Any]:
        texts = [e.text for e in held]
        if step.kind == "label":
            predicted = [r.value for r in proxy.get_label(texts, step.instruction)]
            scores = score_labels(predicted, [bool(e.label) for e in held])
            agreement = {"accuracy": scores.accuracy, "f1_true": scores.f1}
        else:
            spans = [r.spans for r in proxy.get_span(texts, step.instruction)]
            span_scores = score_spans(spans, [e.spans or () for e in held])
            agreement = {"exact_f1": span_scores.f1, "lenient_f1": span_scores.lenient_f1}
        return {
            "field": step.field,
            "instruction": step.instruction,
            "kind": step.kind,
            "annotation": run.summary(),
            "held_out_llm_labels": len(held),
            "proxy_agreement_with_llm": agreement,
        }

    def _execute(
        self, proxy: Proxy, docs: Sequence[Document], steps: Sequence[Step]
    ) -> list[ResultRow]:
        rows: list[ResultRow] = []
        batch = 256
        total = len(docs) * len(steps)
        done = 0
        for step in steps:
            for start in range(0, len(docs), batch):
                chunk = docs[start : start + batch]
                rows += _answer(proxy, step, chunk)
                done += len(chunk)
                if self.progress:
                    self.progress("execute", done, total)
        return rows

    def _write(self, proxy: Proxy, rows: list[ResultRow], report: DemoReport) -> dict[str, str]:
        paths = write_results(rows, self.output)
        proxy.save_pretrained(self.output / "proxy")
        outputs = {name: str(path) for name, path in paths.items()}
        outputs["proxy"] = str(self.output / "proxy")
        outputs["annotations"] = str(self.output / "annotations")
        outputs["report"] = str(self.output / "report.json")
        report.outputs = outputs
        (self.output / "report.json").write_text(json.dumps(report.to_dict(), indent=2))
        return outputs


def _answer(proxy: Proxy, step: Step, docs: Sequence[Document]) -> list[ResultRow]:
    texts = [d.text for d in docs]
    if step.kind == "label":
        labels = proxy.get_label(texts, step.instruction)
        return [
            ResultRow(d.id, step.field, "label", None, None, None, r.value, r.confidence, "proxy")
            for d, r in zip(docs, labels, strict=True)
        ]
    results = proxy.get_span(texts, step.instruction)
    return [
        ResultRow(d.id, step.field, "span", s.start, s.end, s.text, None, s.confidence, "proxy")
        for d, r in zip(docs, results, strict=True)
        for s in r.spans
    ]
