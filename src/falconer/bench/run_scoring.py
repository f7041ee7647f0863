"""Scoring a run's results (`falconer mine`, LLM-only or Falconer) against a task's gold
answers, or against another run's answers (agreement), per ../shared/bench/README.md:
label tasks by accuracy and F1 of `true`; span and pipeline tasks by exact (and lenient)
span F1 per output field, macro-averaged over fields.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa

from falconer.core.errors import InputError
from falconer.core.metrics import score_labels, score_spans
from falconer.core.spans import Span, same_spans
from falconer.engine.report import REPORT_JSON
from falconer.engine.results import KEPT_FIELD, read_results
from falconer.plan.schema import Plan

SpanAnswers = dict[str, dict[str, list[Span]]]  # field -> doc id -> spans


@dataclass(frozen=True, slots=True)
class Answers:
    """What one source (gold or a run) says about each document."""

    kind: str  # "label" or "span"
    labels: dict[str, bool]
    spans: SpanAnswers


def gold_answers(task_dir: Path) -> tuple[list[str], Answers]:
    """Document ids of the test split, and their gold answers."""
    meta = json.loads((task_dir / "task.json").read_text())
    rows = [json.loads(line) for line in (task_dir / "test.jsonl").read_text().splitlines() if line]
    ids = [str(row["id"]) for row in rows]
    if meta["kind"] == "label":
        return ids, Answers("label", {str(r["id"]): bool(r["label"]) for r in rows}, {})
    spans: SpanAnswers = defaultdict(dict)
    for row in rows:
        fields = row.get("fields") or {"spans": row.get("spans") or []}
        for name, found in fields.items():
            spans[name][str(row["id"])] = [Span(s, e, t) for s, e, t in found]
    return ids, Answers("span", {}, dict(spans))


def run_answers(results: pa.Table, plan: Plan, kind: str) -> Answers:
    """A run's answers in the shape of the gold: for a label task the label field (or, for a
    plan without one, whether the filter kept the document); for span tasks every span field."""
    rows = results.to_pylist()
    if kind == "label":
        label_fields = [n for n, s in plan.fields.items() if _op(plan, s) == "get_label"]
        wanted = label_fields[0] if label_fields else KEPT_FIELD
        return Answers(
            "label", {r["doc_id"]: bool(r["value"]) for r in rows if r["field"] == wanted}, {}
        )
    spans: SpanAnswers = defaultdict(dict)
    for row in rows:
        if row["kind"] == "span":
            spans[row["field"]].setdefault(row["doc_id"], []).append(
                Span(row["start"], row["end"], row["text"])
            )
    for name, step in plan.fields.items():
        if _op(plan, step) == "get_span":
            spans.setdefault(name, {})
    return Answers("span", {}, dict(spans))


def run_folder_answers(run_dir: Path, kind: str) -> Answers:
    """The answers of a run folder (any mode): its report names the results and holds the plan."""
    report = json.loads((run_dir / REPORT_JSON).read_text())
    results = read_results(run_dir / Path(report["outputs"]["results"]).name)
    return run_answers(results, Plan.parse(report["plan"]), kind)


def _op(plan: Plan, step_id: str) -> str:
    return next(step.op for step in plan.steps if step.id == step_id)


def compare(ids: Sequence[str], predicted: Answers, reference: Answers) -> dict[str, Any]:
    """Scores of `predicted` against `reference` over the documents `ids` (a document with no
    answer counts as `false` / no spans)."""
    if reference.kind == "label":
        labels = score_labels(
            [predicted.labels.get(i, False) for i in ids],
            [reference.labels.get(i, False) for i in ids],
        )
        return {"metric": "accuracy", "score": labels.accuracy, **labels.to_dict()}
    predicted = _merged_for(predicted, reference)
    pairs = _pair_fields(list(predicted.spans), list(reference.spans))
    per_field: dict[str, dict[str, Any]] = {}
    exact: list[float] = []
    lenient: list[float] = []
    for mine, theirs in pairs:
        ours = predicted.spans.get(mine, {})
        gold = reference.spans[theirs]
        scores = score_spans([ours.get(i, []) for i in ids], [gold.get(i, []) for i in ids])
        per_field[theirs] = {"predicted_field": mine, **scores.to_dict()}
        exact.append(scores.f1)
        lenient.append(scores.lenient_f1)
    same = [
        all(
            same_spans(predicted.spans.get(mine, {}).get(i, []), reference.spans[theirs].get(i, []))
            for mine, theirs in pairs
        )
        for i in ids
    ]
    return {
        "metric": "exact span F1 (macro over fields)",
        "score": sum(exact) / max(len(exact), 1),
        "lenient_f1": sum(lenient) / max(len(lenient), 1),
        # the cascade's notion: the share of documents given exactly the same spans
        "same_answer_share": sum(same) / max(len(same), 1),
        "fields": per_field,
    }


def _merged_for(predicted: Answers, reference: Answers) -> Answers:
    """A plan that splits what the reference keeps in one field ("features and components"
    as two span steps) is scored on the union of its span fields, not on whichever came
    first; a span found by several of them counts once."""
    fields = list(predicted.spans)
    if len(reference.spans) != 1 or len(fields) < 2 or set(reference.spans) <= set(fields):
        return predicted
    union: dict[str, dict[tuple[int, int], Span]] = {}
    for name in fields:
        for doc_id, spans in predicted.spans[name].items():
            found = union.setdefault(doc_id, {})
            for span in spans:
                found.setdefault(span.key, span)
    merged = {doc_id: list(found.values()) for doc_id, found in union.items()}
    return Answers("span", predicted.labels, {" + ".join(fields): merged})


def _pair_fields(predicted: list[str], reference: list[str]) -> list[tuple[str, str]]:
    """Output fields matched to reference fields: by name, else in order."""
    if not predicted:
        raise InputError("the run produced no span field to score")
    if set(reference) <= set(predicted):
        return [(name, name) for name in reference]
    if len(reference) == 1:
        return [(predicted[0], reference[0])]
    return list(zip(predicted, reference, strict=False))
