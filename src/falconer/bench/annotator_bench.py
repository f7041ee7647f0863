"""How good is the LLM as an annotator? Its answers on N benchmark documents against gold.

Scored exactly as the benchmark README says (accuracy / F1 of `true` for labels; exact and
lenient micro P/R/F1 for spans), with the cost beside the quality: LLM calls, tokens,
seconds and documents per second. A failed document counts as answered `false` / no spans.
"""

from __future__ import annotations

import random
import time
from pathlib import Path
from typing import Any

from falconer.annotator.annotator import Annotator
from falconer.annotator.records import AnnotationRun
from falconer.bench.tasks import BenchTask, GoldDoc, load_task
from falconer.core.documents import Document
from falconer.core.metrics import score_labels, score_spans
from falconer.core.spans import Span
from falconer.core.tasks import Kind
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend


def score(kind: Kind, docs: list[GoldDoc], run: AnnotationRun) -> dict[str, Any]:
    by_id = {a.doc_id: a for a in run.annotations}
    if kind == "label":
        predicted = [bool(by_id[d.id].label) if d.id in by_id else False for d in docs]
        return score_labels(predicted, [bool(d.label) for d in docs]).to_dict()
    spans: list[tuple[Span, ...]] = [
        (by_id[d.id].spans or ()) if d.id in by_id else () for d in docs
    ]
    return score_spans(spans, [d.spans or () for d in docs]).to_dict()


def sample_documents(task: BenchTask, split: str, n: int, seed: int) -> list[GoldDoc]:
    """The N documents of a split the annotator benchmark draws for a seed (experiments that
    look into its answers draw the same ones, and find them in the LLM cache)."""
    pool = list(task.test if split == "test" else task.train)
    return random.Random(seed).sample(pool, min(n, len(pool)))


def bench_annotator(
    task_dir: str | Path,
    llm: str,
    *,
    n: int = 200,
    split: str = "test",
    seed: int = 0,
    use_cache: bool = True,
    threads: int = 1,
    slots: int = 2,
    templates: dict[str, str] | None = None,
    verify_spans: bool = False,
    span_type: str | None = None,
) -> dict[str, Any]:
    """Annotate N documents of the task's split with the LLM and score them against gold."""
    task = load_task(task_dir)
    docs = sample_documents(task, split, n, seed)
    backend = create_backend(llm, threads=threads, slots=slots)
    cache = ResponseCache(default_cache_path()) if use_cache else None
    client = LLMClient(backend, cache=cache)
    annotator = Annotator(
        client, templates=templates, verify_spans=verify_spans, span_type=span_type
    )
    started = time.perf_counter()
    run = annotator.annotate_sync(
        task.instruction, task.kind, [Document(d.id, d.text) for d in docs]
    )
    seconds = time.perf_counter() - started
    if cache is not None:
        cache.close()
    total = client.meter.total()
    return {
        "task": task.name,
        "kind": task.kind,
        "split": split,
        "n": len(docs),
        "llm": backend.describe(),
        "prompt_versions": annotator.prompt_version,
        "verify_spans": verify_spans and task.kind == "span",
        "span_type": span_type if task.kind == "span" else None,
        "scores": score(task.kind, docs, run),
        "failed": len(run.failures),
        "failure_reasons": sorted({f.reason for f in run.failures})[:10],
        "dropped_ungrounded_strings": run.dropped_strings,
        "rejected_by_check": run.rejected_strings,
        "llm_calls": total.calls,
        "cache_hits": total.cache_hits,
        "retries": total.retries,
        "repairs": total.repairs,
        "prompt_tokens": total.prompt_tokens,
        "completion_tokens": total.completion_tokens,
        "llm_seconds": round(total.seconds, 2),
        "cost_usd": round(total.cost_usd, 6),
        "wall_seconds": round(seconds, 2),
        "docs_per_second": round(len(docs) / seconds, 4) if seconds else None,
    }
