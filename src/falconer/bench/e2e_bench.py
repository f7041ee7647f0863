"""`falconer bench e2e`: LLM-only against Falconer on a task's test documents, side by side.

(a) LLM-only: the same LLM answers every document, one prompt per step of the task's
reference plan (the annotator's prompts). (b) Falconer: plan -> annotate N -> train ->
execute, through `Miner` exactly as `falconer mine` runs. Both are scored against gold, (b)
against (a) too, with calls, tokens, $, seconds per stage, and both projected to 1M
documents from the measured rates. `annotator="oracle"` trains (b) on gold labels of N train
documents instead (label and span tasks), and says so.
"""

from __future__ import annotations

import dataclasses
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from falconer.annotator.records import Annotation, AnnotationRun, Provenance, load_run
from falconer.bench.run_scoring import compare, gold_answers, run_folder_answers
from falconer.bench.tasks import load_task
from falconer.core.callbacks import Log, Progress
from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.core.spans import checked_span_type
from falconer.engine.acceleration import resolve_runtime
from falconer.engine.corpus import Corpus, write_jsonl
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.report import RunReport
from falconer.llm.usage import PriceTable
from falconer.plan.schema import Plan

PROJECTED_DOCS = 1_000_000


@dataclass
class E2EOptions:
    llm: str = "embedded"
    n_annotate: int = 100
    annotator: str = "llm"  # or "oracle"
    max_docs: int | None = None
    threads: int | None = None
    seed: int = 0
    use_cache: bool = False
    min_steps: int = 300
    reference_plan: bool = False  # give (b) the reference plan instead of planning
    # what runs (b)'s proxy in the execute stage (checked first); `auto` is the runtime it
    # stands for on this CPU, whatever the size of the test split
    runtime: str = "auto"
    backbone: str = "default"  # what (b)'s proxy starts from
    distil_from: str | None = None  # a larger backbone teaching it (see proxy.distillation)
    # (b) annotates actively (see annotator.active): a random first round, then the documents
    # its proxy is least sure of, up to the annotation size per step
    active: bool = False
    active_start: int = 48
    active_step: int = 32
    # the kind of name the plans' span steps require, on both sides (see MineOptions)
    span_type: str | None = None


def task_plan(meta: dict[str, Any]) -> Plan:
    """The reference plan of a task (a one-step plan for label and span tasks)."""
    if "reference_plan" in meta:
        return Plan.parse(meta["reference_plan"])
    op = "get_label" if meta["kind"] == "label" else "get_span"
    field = "label" if meta["kind"] == "label" else "spans"
    step = {"id": "s1", "op": op, "instruction": meta["instruction"]}
    return Plan.parse({"steps": [step], "fields": {field: "s1"}})


class E2EBench:
    def __init__(
        self,
        workdir: Path,
        options: E2EOptions,
        log: Log = print,
        progress: Progress | None = None,
    ) -> None:
        if options.annotator not in ("llm", "oracle"):
            raise InputError(f"annotator must be 'llm' or 'oracle', not {options.annotator!r}")
        if options.active and options.annotator == "oracle":
            raise InputError("active annotation asks the LLM; the oracle's labels are given")
        checked_span_type(options.span_type)
        self.workdir = workdir
        self.options = options
        self.log = log
        self.progress = progress

    def run(self, task_dir: Path, sizes: Sequence[int] = ()) -> dict[str, Any]:
        """LLM-only once, then Falconer once per annotation size (default: n_annotate)."""
        meta = json.loads((task_dir / "task.json").read_text())
        folder = self.workdir / meta["name"]
        ids, gold = gold_answers(task_dir)
        ids = self._subset(ids)
        corpus = self._corpus(task_dir, set(ids), folder / "corpus.jsonl")
        reference = task_plan(meta)
        kind = "label" if meta["kind"] == "label" else "span"
        self.log(f"[{meta['name']}] LLM-only over {len(ids)} documents")
        llm_only = self._miner(folder / "llm-only").run_llm_only(corpus, plan=reference)
        baseline = run_folder_answers(folder / "llm-only", kind)
        runs = []
        for size in sizes or [self.options.n_annotate]:
            self.log(f"[{meta['name']}] Falconer, {size} annotations ({self.options.annotator})")
            run_dir = folder / f"falconer-n{size}"
            falconer = self._falconer(task_dir, meta, run_dir, corpus, reference, size)
            answers = run_folder_answers(run_dir, kind)
            asked = annotated_ids(run_dir)
            unseen = [i for i in ids if i not in asked]
            runs.append(
                {
                    "n_annotate": size,
                    "plan": falconer.plan,
                    "score": compare(ids, answers, gold),
                    "agreement_with_llm_only": compare(ids, answers, baseline),
                    # the proxy learned the annotated documents' answers; on a small corpus
                    # they lift its score towards the LLM's, so it is also scored without them
                    "unannotated": {
                        "documents": len(unseen),
                        "score": compare(unseen, answers, gold),
                        "llm_only_score": compare(unseen, baseline, gold),
                        "agreement_with_llm_only": compare(unseen, answers, baseline),
                    },
                    "run": _summary(falconer),
                    **_ratios(llm_only, falconer, len(ids), self.options.threads or 2),
                }
            )
        return {
            "task": meta["name"],
            "instruction": meta["instruction"],
            "documents": len(ids),
            "seed": self.options.seed,
            "annotator": self.options.annotator,
            "llm": self.options.llm,
            "backbone": self.options.backbone,
            "active": self.options.active,
            "span_type": self.options.span_type,
            **({"distil_from": self.options.distil_from} if self.options.distil_from else {}),
            "options": dataclasses.asdict(self.options),
            "llm_only": {"score": compare(ids, baseline, gold), "run": _summary(llm_only)},
            "falconer": runs,
        }

    def _subset(self, ids: list[str]) -> list[str]:
        limit = self.options.max_docs
        if limit is None or limit >= len(ids):
            return ids
        chosen = set(random.Random(self.options.seed).sample(ids, limit))
        return [i for i in ids if i in chosen]

    def _corpus(self, task_dir: Path, ids: set[str], path: Path) -> Corpus:
        """The test documents, text only: what a user would point Falconer at. An identical
        corpus file is left untouched: runs resume only over the file they started on (its
        modification time included), so rewriting it would refuse to resume a cut-short run."""
        rows = [json.loads(line) for line in (task_dir / "test.jsonl").read_text().splitlines()]
        docs = [Document(str(r["id"]), r["text"]) for r in rows if str(r["id"]) in ids]
        fresh = write_jsonl(docs, path.with_suffix(".new"))
        if path.is_file() and path.read_bytes() == fresh.read_bytes():
            fresh.unlink()
        else:
            fresh.replace(path)
        return Corpus(path)

    def _miner(self, folder: Path, size: int | None = None) -> Miner:
        options = MineOptions(
            llm=self.options.llm,
            n_annotate=size or self.options.n_annotate,
            seed=self.options.seed,
            threads=self.options.threads,
            use_cache=self.options.use_cache,
            min_steps=self.options.min_steps,
            # what a run over 1M documents serves, as projected: `auto` itself would leave a
            # test split this small to fp32 unchecked (engine.acceleration.PAYBACK_DOCUMENTS)
            runtime=resolve_runtime(self.options.runtime),
            backbone=self.options.backbone,
            distil_from=self.options.distil_from,
            active=self.options.active,
            active_start=self.options.active_start,
            active_step=self.options.active_step,
            span_type=self.options.span_type,
        )
        return Miner(folder, options, self.log, self.progress)

    def _falconer(
        self,
        task_dir: Path,
        meta: dict[str, Any],
        folder: Path,
        corpus: Corpus,
        reference: Plan,
        size: int,
    ) -> RunReport:
        miner = self._miner(folder, size)
        if self.options.annotator == "oracle":
            oracle = self._oracle(task_dir, reference, size)
            return miner.run(corpus, plan=reference, given=oracle)
        plan = reference if self.options.reference_plan else None
        return miner.run(corpus, meta["instruction"], plan)

    def _oracle(self, task_dir: Path, plan: Plan, size: int) -> dict[str, AnnotationRun]:
        """Gold labels of N train documents, recorded as annotations by an 'oracle'."""
        task = load_task(task_dir)  # label and span tasks only: a pipeline has no step gold
        sample, _ = task.sample(size, self.options.seed)
        step = plan.steps[0]
        provenance = Provenance("oracle", "gold", "-", datetime.now(UTC).isoformat())
        run = AnnotationRun(step.instruction, task.kind)
        run.annotations = [
            Annotation(
                d.id, d.text, step.instruction, task.kind, provenance, d.label, None, d.spans
            )
            for d in sample
        ]
        return {step.id: run}


def annotated_ids(run_dir: Path) -> set[str]:
    """The corpus documents the run's annotator was asked about, in any step (failures too)."""
    asked: set[str] = set()
    for path in sorted((run_dir / "annotations").glob("*.jsonl")):
        run = load_run(path)
        asked |= {a.doc_id for a in run.annotations} | {f.doc_id for f in run.failures}
    return asked


def _summary(report: RunReport) -> dict[str, Any]:
    return {
        "seconds": report.seconds,
        "usage": report.usage,
        "execute_docs_per_second": report.execute["docs_per_second"],
        "runtime": report.execute.get("runtime"),
        "steps": report.steps,
        "outputs": report.outputs,
        **({"learning_curve": report.learning_curve} if report.learning_curve else {}),
    }


def _ratios(llm_only: RunReport, falconer: RunReport, docs: int, threads: int) -> dict[str, Any]:
    """Measured speed ratios, and both runs projected to 1M documents from measured rates."""
    prices = PriceTable.load()
    llm_rate = llm_only.execute["docs_per_second"]
    proxy_rate = falconer.execute["docs_per_second"]
    llm_cost_per_doc = llm_only.usage["execute"]["cost_usd"] / max(docs, 1)
    # every stage but execute is paid once, whatever the corpus size (accelerate included)
    fixed = sum(seconds for stage, seconds in falconer.seconds.items() if stage != "execute")
    fixed_cost = sum(falconer.usage.get(s, {}).get("cost_usd", 0.0) for s in ("plan", "annotate"))
    proxy_seconds_1m = PROJECTED_DOCS / proxy_rate if proxy_rate else float("inf")
    llm_seconds_1m = llm_only.seconds.get("plan", 0.0) + (
        PROJECTED_DOCS / llm_rate if llm_rate else float("inf")
    )
    falconer_seconds_1m = fixed + proxy_seconds_1m
    trained = falconer.seconds["train"] + falconer.seconds.get("teach", 0.0)
    train_cost = trained * threads / 3600 * prices.cpu_hour
    proxy_cost_1m = proxy_seconds_1m * threads / 3600 * prices.cpu_hour
    llm_cost_1m = llm_cost_per_doc * PROJECTED_DOCS
    falconer_cost_1m = fixed_cost + train_cost + proxy_cost_1m
    return {
        "execute_speedup": proxy_rate / llm_rate if llm_rate else None,
        "whole_run_speedup_measured": sum(llm_only.seconds.values())
        / max(sum(falconer.seconds.values()), 1e-9),
        "projection_1m_documents": {
            "note": "a projection from the rates measured on this run, not a measurement",
            "llm_only_seconds": llm_seconds_1m,
            "falconer_seconds": falconer_seconds_1m,
            "speedup": llm_seconds_1m / falconer_seconds_1m,
            "llm_only_cost_usd": llm_cost_1m,
            "falconer_cost_usd": falconer_cost_1m,
            "cost_ratio": falconer_cost_1m / llm_cost_1m if llm_cost_1m else None,
        },
    }
