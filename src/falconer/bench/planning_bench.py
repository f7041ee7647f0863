"""`falconer bench planning`: plan accuracy and step P/R/F1 on an instruction set."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from falconer.annotator.sampling import embed
from falconer.bench.plan_scoring import score_plan
from falconer.core.callbacks import Log
from falconer.core.errors import FalconerError
from falconer.llm.structured import InvalidOutputError
from falconer.plan.schema import Plan
from falconer.planner import Planner


@dataclass(slots=True)
class PlanningRow:
    id: str
    instruction: str
    correct: bool
    precision: float
    recall: float
    f1: float
    predicted: dict[str, Any] | None
    references: list[dict[str, Any]]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def load_set(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]


def bench_planning(
    rows: Sequence[dict[str, Any]], planner: Planner, log: Log = print
) -> tuple[list[PlanningRow], dict[str, Any]]:
    results = []
    started = time.perf_counter()
    for row in rows:
        references = [Plan.parse(p) for p in row["plans"]]
        predicted: Plan | None = None
        error = None
        try:
            predicted = planner.plan_sync(row["instruction"]).plan
        except (FalconerError, InvalidOutputError) as problem:
            error = str(problem)
        score = score_plan(predicted, references, embed)
        results.append(
            PlanningRow(
                row["id"],
                row["instruction"],
                score.correct,
                score.precision,
                score.recall,
                score.f1,
                predicted.to_neutral() if predicted else None,
                [r.to_neutral() for r in references],
                error,
            )
        )
        log(f"  {row['id']}: {'correct' if score.correct else 'wrong'} (step F1 {score.f1:.2f})")
    n = max(len(results), 1)
    summary = {
        "plans": len(results),
        "plan_accuracy": sum(r.correct for r in results) / n,
        "step_precision": sum(r.precision for r in results) / n,
        "step_recall": sum(r.recall for r in results) / n,
        "step_f1": sum(r.f1 for r in results) / n,
        "seconds": time.perf_counter() - started,
        "usage": planner.client.meter.report(),
        "prompt_version": planner.prompt_version,
    }
    return results, summary
