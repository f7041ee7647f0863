"""Reading benchmark task folders (task.json, train.jsonl, test.jsonl); see ../shared/bench."""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from falconer.core.errors import InputError
from falconer.core.spans import Span
from falconer.core.tasks import Example, Kind, TaskData


@dataclass(frozen=True, slots=True)
class GoldDoc:
    id: str
    text: str
    label: bool | None
    spans: tuple[Span, ...] | None

    def example(self) -> Example:
        return Example(self.text, label=self.label, spans=self.spans)


@dataclass(frozen=True, slots=True)
class BenchTask:
    name: str
    kind: Kind
    instruction: str
    metric: str
    train: tuple[GoldDoc, ...]
    test: tuple[GoldDoc, ...]
    meta: dict[str, Any]

    def sample(self, n: int, seed: int) -> tuple[list[GoldDoc], list[GoldDoc]]:
        """N train docs an oracle annotator labels, and the unlabelled rest of the pool."""
        pool = list(self.train)
        random.Random(seed).shuffle(pool)
        return pool[:n], pool[n:]

    def task_data(self, docs: Sequence[GoldDoc]) -> TaskData:
        return TaskData(self.instruction, self.kind, [d.example() for d in docs])


def load_task(directory: str | Path) -> BenchTask:
    root = Path(directory)
    meta_path = root / "task.json"
    if not meta_path.is_file():
        raise InputError(f"{root}: not a benchmark task folder (no task.json)")
    meta = json.loads(meta_path.read_text())
    kind = meta["kind"]
    if kind not in ("label", "span"):
        raise InputError(f"{root}: task kind {kind!r} is not a single primitive (label or span)")
    return BenchTask(
        name=meta["name"],
        kind=kind,
        instruction=meta["instruction"],
        metric=meta["metric"],
        train=tuple(_read_docs(root / "train.jsonl")),
        test=tuple(_read_docs(root / "test.jsonl")),
        meta=meta,
    )


def _read_docs(path: Path) -> list[GoldDoc]:
    docs = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as error:
                raise InputError(f"{path}:{number}: invalid JSON ({error.msg})") from error
            text = row["text"]
            spans = row.get("spans")
            docs.append(
                GoldDoc(
                    id=str(row["id"]),
                    text=text,
                    label=row.get("label"),
                    spans=None if spans is None else tuple(Span(s, e, t) for s, e, t in spans),
                )
            )
    return docs
