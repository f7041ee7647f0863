"""Result sinks that survive a crash: rows are made durable first, then a checkpoint says
how far the run got, so a resumed run drops whatever was written after the last checkpoint
and carries on with nothing lost and nothing written twice.

JSONL and CSV are appended to and truncated back on resume; Parquet is written as one part
file per batch and merged into `results.parquet` at the end; DuckDB stores rows and the
checkpoint in one transaction.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import pyarrow.parquet as pq

from falconer.core.errors import InputError
from falconer.engine.results import COLUMNS, RESULT_SCHEMA, ResultRow, to_arrow

Format = Literal["parquet", "jsonl", "csv", "duckdb"]
FORMATS: tuple[str, ...] = get_args(Format)
CHECKPOINT_FILE = "checkpoint.json"
State = dict[str, Any]


def write_atomically(path: Path, text: str) -> None:
    """Replace `path` so that a reader (or a crash) sees the old or the new file, never half."""
    temporary = path.with_name(path.name + ".tmp")
    with temporary.open("w", encoding="utf-8") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    temporary.replace(path)
    _sync_folder(path.parent)


def _sync_folder(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class ResultSink(ABC):
    """Append-only result store with a checkpoint committed after the rows it covers."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    @property
    @abstractmethod
    def path(self) -> Path:
        """Where the user finds the results."""

    @abstractmethod
    def resume(self) -> State | None:
        """The last committed state, with anything written after it dropped; None if fresh."""

    @abstractmethod
    def commit(self, rows: Sequence[ResultRow], state: State) -> None:
        """Make `rows` durable, then record `state` as the point to resume from."""

    @abstractmethod
    def reset(self) -> None:
        """Forget a previous run's results and checkpoint."""

    def finish(self, state: State) -> None:
        """Called once, after the last batch."""
        self.commit([], {**state, "finished": True})

    def close(self) -> None:  # noqa: B027 - most sinks hold nothing open between commits
        """Release files or connections."""


class _AppendSink(ResultSink):
    """A text file appended to; the checkpoint file records its length at each commit."""

    suffix = ""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.checkpoint = folder / CHECKPOINT_FILE

    @property
    def path(self) -> Path:
        return self.folder / f"results.{self.suffix}"

    def resume(self) -> State | None:
        if not self.checkpoint.is_file():
            return None
        saved: State = json.loads(self.checkpoint.read_text())
        with self.path.open("ab") as out:
            out.truncate(saved["bytes"])
        return dict(saved["state"])

    def reset(self) -> None:
        self.checkpoint.unlink(missing_ok=True)
        self.path.write_bytes(self.header())

    def commit(self, rows: Sequence[ResultRow], state: State) -> None:
        with self.path.open("ab") as out:
            out.write(self.encode(rows))
            out.flush()
            os.fsync(out.fileno())
            length = out.tell()
        write_atomically(self.checkpoint, json.dumps({"state": state, "bytes": length}))

    def header(self) -> bytes:
        return b""

    @abstractmethod
    def encode(self, rows: Sequence[ResultRow]) -> bytes: ...


class JsonlSink(_AppendSink):
    suffix = "jsonl"

    def encode(self, rows: Sequence[ResultRow]) -> bytes:
        lines = (json.dumps(row.to_dict(), ensure_ascii=False) + "\n" for row in rows)
        return "".join(lines).encode("utf-8")


class CsvSink(_AppendSink):
    suffix = "csv"

    def header(self) -> bytes:
        return self._csv([COLUMNS])

    def encode(self, rows: Sequence[ResultRow]) -> bytes:
        return self._csv([tuple(row.to_dict().values()) for row in rows])

    @staticmethod
    def _csv(rows: Sequence[Sequence[Any]]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerows(rows)
        return buffer.getvalue().encode("utf-8")


class ParquetSink(ResultSink):
    """One part file per commit (renamed into place when whole), merged when the run ends."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.parts = folder / "results.parts"
        self.checkpoint = folder / CHECKPOINT_FILE
        self._count = 0  # part files committed: from the checkpoint, never a folder listing

    @property
    def path(self) -> Path:
        return self.folder / "results.parquet"

    def resume(self) -> State | None:
        if not self.checkpoint.is_file():
            return None
        saved: State = json.loads(self.checkpoint.read_text())
        if self.parts.is_dir():
            for part in self.parts.iterdir():
                if not part.name.endswith(".parquet") or int(part.stem) >= saved["parts"]:
                    part.unlink()
        self._count = int(saved["parts"])
        return dict(saved["state"])

    def reset(self) -> None:
        self._count = 0
        self.checkpoint.unlink(missing_ok=True)
        self.path.unlink(missing_ok=True)
        shutil.rmtree(self.parts, ignore_errors=True)

    def commit(self, rows: Sequence[ResultRow], state: State) -> None:
        if rows:  # no empty parts folder: `finish` reads its absence as "merged already"
            self.parts.mkdir(exist_ok=True)
            part = self.parts / f"{self._count:08d}.parquet"
            temporary = part.with_suffix(".tmp")
            pq.write_table(to_arrow(rows), temporary)
            with temporary.open("rb") as written:
                os.fsync(written.fileno())
            temporary.replace(part)
            _sync_folder(self.parts)
            self._count += 1
        write_atomically(self.checkpoint, json.dumps({"state": state, "parts": self._count}))

    def finish(self, state: State) -> None:
        super().finish(state)
        if self.path.is_file() and not self.parts.is_dir():
            return  # merged already, by the run that crashed right after
        parts = sorted(self.parts.glob("*.parquet")) if self.parts.is_dir() else []
        temporary = self.path.with_suffix(".tmp")
        with pq.ParquetWriter(temporary, RESULT_SCHEMA) as writer:
            for part in parts:
                writer.write_table(pq.read_table(part, schema=RESULT_SCHEMA))
        temporary.replace(self.path)
        shutil.rmtree(self.parts, ignore_errors=True)


class DuckDBSink(ResultSink):
    """Table `results` in `results.duckdb`; each batch and its checkpoint in one transaction."""

    def __init__(self, folder: Path) -> None:
        import duckdb

        super().__init__(folder)
        self.connection = duckdb.connect(str(self.path))
        self.connection.execute(
            "create table if not exists results (doc_id varchar, field varchar, kind varchar,"
            ' start bigint, "end" bigint, text varchar, value boolean, confidence double,'
            " model varchar)"
        )
        self.connection.execute("create table if not exists falconer_checkpoint (state varchar)")

    @property
    def path(self) -> Path:
        return self.folder / "results.duckdb"

    def resume(self) -> State | None:
        # fetchall: a result left half-read blocks the connection's next statement
        found = self.connection.execute("select state from falconer_checkpoint").fetchall()
        return dict(json.loads(found[0][0])) if found else None

    def reset(self) -> None:
        self.connection.execute("delete from results")
        self.connection.execute("delete from falconer_checkpoint")

    def commit(self, rows: Sequence[ResultRow], state: State) -> None:
        self.connection.register("falconer_batch", to_arrow(rows))
        self.connection.execute("begin transaction")
        try:
            if rows:
                self.connection.execute("insert into results select * from falconer_batch")
            self.connection.execute("delete from falconer_checkpoint")
            self.connection.execute(
                "insert into falconer_checkpoint values (?)", [json.dumps(state)]
            )
            self.connection.execute("commit")
        except Exception:
            self.connection.execute("rollback")
            raise
        finally:
            self.connection.unregister("falconer_batch")

    def close(self) -> None:
        self.connection.close()


def open_sink(folder: Path, output_format: str) -> ResultSink:
    sinks: dict[str, type[ResultSink]] = {
        "parquet": ParquetSink,
        "jsonl": JsonlSink,
        "csv": CsvSink,
        "duckdb": DuckDBSink,
    }
    if output_format not in sinks:
        raise InputError(
            f"output format must be one of {', '.join(FORMATS)}, not {output_format!r}"
        )
    return sinks[output_format](folder)


class RejectLog:
    """`rejects.jsonl`: one line per skipped record; its length goes into each checkpoint."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def restore(self, length: int) -> None:
        with self.path.open("ab") as out:
            out.truncate(length)

    def append(self, rejects: Sequence[dict[str, Any]]) -> int:
        with self.path.open("ab") as out:
            for reject in rejects:
                out.write((json.dumps(reject, ensure_ascii=False) + "\n").encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
            return out.tell()
