"""Annotation records and their storage (JSONL), with the provenance needed to trust them.

A saved run lets a proxy be retrained without paying the LLM again. Each line is one
document: `status` "ok" with the answer, or "failed" with the reason. Offsets are code
points into `text`, stored with the text itself so they can always be re-checked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from falconer.core.errors import InputError
from falconer.core.spans import Span
from falconer.core.tasks import Example, Kind, TaskData


@dataclass(frozen=True, slots=True)
class Provenance:
    backend: str
    model: str
    prompt_version: str
    time: str
    cached: bool = False
    # The templates of the checks a span answer passed ("type_v1-<hash>:person"), so a proxy
    # retrained from saved annotations knows which filter made them; empty when none ran.
    checks: str = ""

    @property
    def span_type(self) -> str | None:
        """The span type the answer was checked against ("type_v1-<hash>:person" -> person)."""
        return self.checks.rpartition(":")[2] if ":" in self.checks else None


@dataclass(frozen=True, slots=True)
class Annotation:
    doc_id: str
    text: str
    instruction: str
    kind: Kind
    provenance: Provenance
    label: bool | None = None
    probability: float | None = None
    spans: tuple[Span, ...] | None = None
    dropped: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()

    def example(self) -> Example:
        return Example(self.text, label=self.label, spans=self.spans, probability=self.probability)


@dataclass(frozen=True, slots=True)
class Failure:
    doc_id: str
    text: str
    reason: str


@dataclass
class AnnotationRun:
    instruction: str
    kind: Kind
    annotations: list[Annotation] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def dropped_strings(self) -> int:
        """Strings the LLM returned that are not in the document (never trained on)."""
        return sum(len(a.dropped) for a in self.annotations)

    @property
    def rejected_strings(self) -> int:
        """Grounded strings that the separate yes/no check did not confirm."""
        return sum(len(a.rejected) for a in self.annotations)

    def task_data(self) -> TaskData:
        """The annotated examples as the proxy's training data (failures left out)."""
        return TaskData(self.instruction, self.kind, [a.example() for a in self.annotations])

    def summary(self) -> dict[str, Any]:
        return {
            "instruction": self.instruction,
            "kind": self.kind,
            "annotated": len(self.annotations),
            "failed": len(self.failures),
            "dropped_ungrounded_strings": self.dropped_strings,
            "rejected_by_check": self.rejected_strings,
            "seconds": round(self.seconds, 3),
            "usage": self.usage,
        }


def _row(annotation: Annotation) -> dict[str, Any]:
    row: dict[str, Any] = {
        "status": "ok",
        "id": annotation.doc_id,
        "text": annotation.text,
        "instruction": annotation.instruction,
        "kind": annotation.kind,
        "provenance": {
            "backend": annotation.provenance.backend,
            "model": annotation.provenance.model,
            "prompt_version": annotation.provenance.prompt_version,
            "time": annotation.provenance.time,
            "cached": annotation.provenance.cached,
            "checks": annotation.provenance.checks,
        },
    }
    if annotation.kind == "label":
        row["label"] = annotation.label
        row["probability"] = annotation.probability
    else:
        row["spans"] = [[s.start, s.end, s.text] for s in annotation.spans or ()]
        row["dropped"] = list(annotation.dropped)
        row["rejected"] = list(annotation.rejected)
    return row


def save_run(run: AnnotationRun, path: str | Path) -> None:
    """Write one JSON line per document: annotations, then failures with their reasons."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", encoding="utf-8") as out:
        for annotation in run.annotations:
            out.write(json.dumps(_row(annotation), ensure_ascii=False) + "\n")
        for failure in run.failures:
            row = {"status": "failed", "id": failure.doc_id, "text": failure.text}
            row |= {"instruction": run.instruction, "kind": run.kind, "reason": failure.reason}
            out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _annotation(row: dict[str, Any]) -> Annotation:
    text = row["text"]
    spans = None
    if row["kind"] == "span":
        spans = tuple(Span(s, e, t) for s, e, t in row["spans"])
        if any(not span.matches(text) for span in spans):
            raise InputError(f"annotation {row['id']!r}: a span does not match its text")
    return Annotation(
        doc_id=str(row["id"]),
        text=text,
        instruction=row["instruction"],
        kind=row["kind"],
        provenance=Provenance(**row["provenance"]),
        label=row.get("label"),
        probability=row.get("probability"),
        spans=spans,
        dropped=tuple(row.get("dropped", ())),
        rejected=tuple(row.get("rejected", ())),
    )


def load_run(path: str | Path) -> AnnotationRun:
    """Read a saved run back (e.g. to retrain a proxy without new LLM calls)."""
    rows: Sequence[dict[str, Any]] = [
        json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line
    ]
    if not rows:
        raise InputError(f"{path}: no annotations")
    run = AnnotationRun(rows[0]["instruction"], rows[0]["kind"])
    for row in rows:
        if row["status"] == "ok":
            run.annotations.append(_annotation(row))
        else:
            run.failures.append(Failure(str(row["id"]), row["text"], row["reason"]))
    return run
