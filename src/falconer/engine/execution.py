"""The execute stage: stream a corpus through a plan into a crash-safe sink.

Each batch's results, and the records it rejected, are made durable before a checkpoint
records how many corpus records are done. Run the same command again after a crash (even
`kill -9`) and it drops anything written after that checkpoint, skips the records already
done and carries on: every document is answered exactly once in the output.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from falconer.core.callbacks import Progress
from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.engine.corpus import Corpus, Record, Reject, no_documents, reject_kind
from falconer.engine.executor import Answerer, PlanExecutor
from falconer.engine.sinks import RejectLog, ResultSink, State, open_sink
from falconer.plan.schema import Plan

REJECTS_FILE = "rejects.jsonl"


@dataclass
class ExecutionReport:
    results: str
    output_format: str
    records: int = 0
    documents: int = 0
    rejected: int = 0
    kept: int = 0
    rows: int = 0
    asked: dict[str, int] = field(default_factory=dict)
    reject_reasons: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    resumed_at: int = 0
    rejects: str = ""
    model: str = ""

    def count_rejects(self, rejects: Sequence[Reject]) -> None:
        """Add skipped records, tallied by the kind of problem (the reason before its ':')."""
        self.rejected += len(rejects)
        for reject in rejects:
            reason = reject_kind(reject.reason)
            self.reject_reasons[reason] = self.reject_reasons.get(reason, 0) + 1

    @property
    def docs_per_second(self) -> float:
        return self.documents / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "docs_per_second": round(self.docs_per_second, 2)}


@dataclass
class Execution:
    """Options of one execute stage; `run` does the work and may be called again to resume."""

    plan: Plan
    answerer: Answerer
    corpus: Corpus
    output: Path
    output_format: str = "parquet"
    batch_size: int = 256
    restart: bool = False
    progress: Progress | None = None
    # what else decides the answers (the proxy's training, cascade thresholds, the LLM), so
    # that a rerun with another one never passes off the old results as its own
    identity: str = ""

    def run(self) -> ExecutionReport:
        if self.batch_size < 1:
            raise InputError(f"batch size must be >= 1, got {self.batch_size}")
        sink = open_sink(self.output, self.output_format)
        rejects = RejectLog(self.output / REJECTS_FILE)
        try:
            return self._run(sink, rejects)
        finally:
            sink.close()

    def _run(self, sink: ResultSink, rejects: RejectLog) -> ExecutionReport:
        key = self._key()
        state = None if self.restart else sink.resume()
        if state is not None and state.get("key") != key:
            raise InputError(
                f"{self.output} holds results of another plan, corpus or model (or of a "
                "retrained proxy or other cascade settings); pass --restart to replace them"
            )
        if state is None:
            sink.reset()
            rejects.restore(0)
            state = {"key": key, "report": None, "rejects_bytes": 0}
        else:
            rejects.restore(int(state["rejects_bytes"]))
        report = self._report(sink.path, rejects.path, state)
        report.resumed_at = report.records
        if state.get("finished"):
            sink.finish(state)  # idempotent: completes a merge a crash may have cut short
            return report
        self._execute(sink, rejects, state, report)
        return report

    def _execute(
        self, sink: ResultSink, rejects: RejectLog, state: State, report: ExecutionReport
    ) -> None:
        executor = PlanExecutor(self.plan, self.answerer)
        total = self.corpus.count()
        records = itertools.islice(self.corpus.records(), report.records, None)
        started = time.perf_counter() - report.seconds
        for batch, skipped in _batches(records, self.batch_size):
            outcome = executor.run(batch)
            report.records += len(batch) + len(skipped)
            report.documents += len(batch)
            report.kept += outcome.kept
            report.rows += len(outcome.rows)
            for step_id, count in outcome.asked.items():
                report.asked[step_id] = report.asked.get(step_id, 0) + count
            report.count_rejects(skipped)
            report.seconds = time.perf_counter() - started
            state["rejects_bytes"] = rejects.append([r.to_dict() for r in skipped])
            state["report"] = report.to_dict()
            sink.commit(outcome.rows, state)
            if self.progress:
                self.progress("execute", min(report.records, total), total)
        if report.documents == 0:
            raise no_documents(self.corpus, report.reject_reasons, rejects.path)
        state["report"] = report.to_dict()
        sink.finish(state)

    def _key(self) -> str:
        material = json.dumps(
            [
                self.plan.to_neutral(),
                self.corpus.fingerprint(),
                self.corpus.text_field,
                self.corpus.id_field,
                self.corpus.max_chars,
                self.answerer.name,
                self.identity,
                self.batch_size,
            ],
            sort_keys=True,
        )
        return hashlib.sha256(material.encode()).hexdigest()

    def _report(self, results: Path, rejects: Path, state: State) -> ExecutionReport:
        report = ExecutionReport(str(results), self.output_format)
        saved = state.get("report")
        if saved:
            for name, value in saved.items():
                if name != "docs_per_second":
                    setattr(report, name, value)
        report.results, report.rejects, report.model = (
            str(results),
            str(rejects),
            self.answerer.name,
        )
        return report


def _batches(records: Iterator[Record], size: int) -> Iterator[tuple[list[Document], list[Reject]]]:
    """Batches of `size` documents, each with the rejects read among them."""
    docs: list[Document] = []
    skipped: list[Reject] = []
    for record in records:
        if isinstance(record, Reject):
            skipped.append(record)
        else:
            docs.append(record)
        if len(docs) == size:
            yield docs, skipped
            docs, skipped = [], []
    if docs or skipped:
        yield docs, skipped
