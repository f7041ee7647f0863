"""Result rows with provenance, written so pandas and DuckDB open them directly."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One answer: a span (start/end/text) or a label (value) of one field for one document."""

    doc_id: str
    field: str
    kind: str
    start: int | None
    end: int | None
    text: str | None
    value: bool | None
    confidence: float
    model: str


def write_results(rows: Sequence[ResultRow], folder: Path) -> dict[str, Path]:
    """`results.parquet` and `results.jsonl`, same rows."""
    folder.mkdir(parents=True, exist_ok=True)
    records = [asdict(row) for row in rows]
    schema = pa.schema(
        [
            ("doc_id", pa.string()),
            ("field", pa.string()),
            ("kind", pa.string()),
            ("start", pa.int64()),
            ("end", pa.int64()),
            ("text", pa.string()),
            ("value", pa.bool_()),
            ("confidence", pa.float64()),
            ("model", pa.string()),
        ]
    )
    parquet = folder / "results.parquet"
    pq.write_table(pa.Table.from_pylist(records, schema=schema), parquet)
    jsonl = folder / "results.jsonl"
    with jsonl.open("w", encoding="utf-8") as out:
        for record in records:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return {"parquet": parquet, "jsonl": jsonl}
