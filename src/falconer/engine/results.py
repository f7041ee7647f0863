"""Result rows with provenance, in a schema pandas, DuckDB and Arrow read as is.

One row per answer ("long" form, so any plan fits one table): a span of a span field
(start/end/text), the value of a label field, or, for a plan with a filter, one `_kept`
row per document the filter keeps. Every row says how sure the model was and which model
answered (`proxy` or `llm`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq

KEPT_FIELD = "_kept"

RESULT_SCHEMA = pa.schema(
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
COLUMNS = tuple(RESULT_SCHEMA.names)


@dataclass(frozen=True, slots=True)
class ResultRow:
    """One answer of one field for one document (`kind`: span, label or document)."""

    doc_id: str
    field: str
    kind: str
    start: int | None
    end: int | None
    text: str | None
    value: bool | None
    confidence: float
    model: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def to_arrow(rows: Sequence[ResultRow]) -> pa.Table:
    return pa.Table.from_pylist([row.to_dict() for row in rows], schema=RESULT_SCHEMA)


def read_results(path: Path) -> pa.Table:
    """The results of a run in any of its formats, with the exact schema they were written in."""
    if path.suffix == ".parquet":
        return pq.read_table(path, schema=RESULT_SCHEMA)
    if path.suffix == ".jsonl":
        options = pa_json.ParseOptions(explicit_schema=RESULT_SCHEMA)
        return pa_json.read_json(path, parse_options=options)
    if path.suffix == ".csv":
        convert = pa_csv.ConvertOptions(column_types=RESULT_SCHEMA, strings_can_be_null=True)
        return pa_csv.read_csv(path, convert_options=convert)
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        frame = connection.execute("select * from results").df()
    return pa.Table.from_pandas(frame, schema=RESULT_SCHEMA, preserve_index=False)
