"""Corpora read as streams: JSONL, CSV, Parquet, or a folder of them and of .txt files.

A corpus of any size is read one record at a time, in a fixed order, so a run can count
records to resume from. A row that cannot be used (invalid JSON, bytes that are not UTF-8,
no text field, empty or enormous text, an id an earlier document has) becomes a `Reject`
naming its file and line; the stream goes on. Offsets of results index into the text exactly
as read here.
"""

from __future__ import annotations

import csv
import itertools
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from falconer.core.documents import Document
from falconer.core.errors import InputError

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
CSV_SUFFIXES = (".csv", ".tsv")
PARQUET_SUFFIXES = (".parquet", ".pq")
TEXT_SUFFIXES = (".txt",)
SUPPORTED = JSONL_SUFFIXES + CSV_SUFFIXES + PARQUET_SUFFIXES + TEXT_SUFFIXES
DEFAULT_MAX_CHARS = 1_000_000
REJECTS_EXPLAINED = 100_000  # records read to say why a corpus gave no documents
_REJECT_KIND = re.compile(r"[^:(]*(?:\([^)]*\)[^:(]*)*")  # up to a ':' outside parentheses


@dataclass(frozen=True, slots=True)
class Reject:
    """A record that was skipped, and why; `line` is 1-based (a row number for Parquet)."""

    source: str
    line: int
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "line": self.line, "reason": self.reason}


Record = Document | Reject


@dataclass(frozen=True, slots=True)
class Corpus:
    """Where the documents are and which fields hold their text and id."""

    path: Path
    text_field: str = "text"
    id_field: str = "id"
    max_chars: int = DEFAULT_MAX_CHARS

    def __post_init__(self) -> None:
        if not self.path.exists():
            raise InputError(f"corpus not found: {self.path}")
        if not self.files():
            raise InputError(
                f"{self.path}: no corpus files (supported: {', '.join(SUPPORTED)}, or a folder)"
            )

    def files(self) -> list[Path]:
        if self.path.is_file():
            return [self.path]
        return sorted(
            p for p in self.path.rglob("*") if p.is_file() and p.suffix.lower() in SUPPORTED
        )

    def fingerprint(self) -> list[list[Any]]:
        """Name, size and modification time of every file: a resumed run must read the same."""
        return [[str(p), p.stat().st_size, p.stat().st_mtime_ns] for p in self.files()]

    def records(self) -> Iterator[Record]:
        """Documents and rejects in corpus order. A document whose id an earlier one has is a
        reject: results are keyed by id, and the rows of two documents under one id could be
        told apart neither from each other nor when joined back to the corpus. A pass keeps
        the ids it has seen, about 100 bytes a document."""
        seen: set[str] = set()
        for path in self.files():
            yield from _read_file(path, self, seen)

    def documents(self) -> Iterator[Document]:
        return (r for r in self.records() if isinstance(r, Document))

    def count(self) -> int:
        """Records in the corpus (documents and rejects), cheaply, for progress and ETA."""
        return sum(_count_file(path, self) for path in self.files())


def reject_kind(reason: str) -> str:
    """What a reject is tallied under: the kind of problem, before a ':' and its details (an
    invalid JSON line's parser message differs from line to line). A ':' in parentheses is
    part of the kind: "no 'text' field (fields: body)" names the fields there are."""
    kind = _REJECT_KIND.match(reason)
    return (kind.group(0).rstrip() if kind else "") or reason


def no_documents(
    corpus: Corpus,
    reject_kinds: Mapping[str, int] | None = None,
    rejects_file: str | Path | None = None,
) -> InputError:
    """The error for a corpus that gave no documents, saying why from its records: it holds
    none, or the commonest kinds of reject (a wrong text field names the fields there are),
    so the fix is in the message and not in a rejects file to look up. `reject_kinds` is the
    tally of a pass that already read the whole corpus, which wrote every reject to
    `rejects_file`; without it the first `REJECTS_EXPLAINED` records are read."""
    if reject_kinds is None:
        records = itertools.islice(corpus.records(), REJECTS_EXPLAINED)
        reject_kinds = Counter(reject_kind(r.reason) for r in records if isinstance(r, Reject))
    reasons = Counter(reject_kinds)
    written = "" if rejects_file is None else f"; every reject is in {rejects_file}"
    if not reasons:
        return InputError(f"no documents in {corpus.path}: it holds no records{written}")
    read = sum(reasons.values())
    common = "; ".join(f"{reason} ({count:,}x)" for reason, count in reasons.most_common(3))
    hint = ""
    if any(reason.startswith(f"no {corpus.text_field!r}") for reason in reasons):
        hint = f" (the text is read from {corpus.text_field!r}; choose another with --text-field)"
    elif any(reason.startswith("bytes that are not UTF-8") for reason in reasons):
        hint = " (Falconer reads UTF-8: convert it first, e.g. iconv -f cp1252 -t utf-8)"
    return InputError(
        f"no documents in {corpus.path}: every record read ({read:,}) was rejected: "
        f"{common}{hint}{written}"
    )


def bundled_corpus_path() -> Path:
    """The CC-BY 4.0 WikiGold sentences shipped with the package (see data/README.md)."""
    return Path(str(resources.files("falconer") / "data" / "wikigold.jsonl"))


def bundled_corpus() -> list[Document]:
    return list(Corpus(bundled_corpus_path()).documents())


def _read_file(path: Path, corpus: Corpus, seen: set[str]) -> Iterator[Record]:
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return _read_jsonl(path, corpus, seen)
    if suffix in CSV_SUFFIXES:
        return _read_csv(path, corpus, seen)
    if suffix in PARQUET_SUFFIXES:
        return _read_parquet(path, corpus, seen)
    return _read_text_file(path, corpus, seen)


def _count_file(path: Path, corpus: Corpus) -> int:
    suffix = path.suffix.lower()
    if suffix in PARQUET_SUFFIXES:
        try:
            return int(pq.ParquetFile(path).metadata.num_rows)
        except (OSError, ValueError):
            return 1
    if suffix in TEXT_SUFFIXES:
        return 1
    if suffix in CSV_SUFFIXES:
        return sum(1 for _ in _read_csv(path, corpus, set()))
    count = 0
    with path.open("rb") as stream:
        for line in stream:
            count += bool(line.strip())
    return count


def _document(
    source: Path, line: int, text: Any, doc_id: Any, corpus: Corpus, seen: set[str]
) -> Record:
    name = str(source)
    if text is None:
        return Reject(name, line, f"no {corpus.text_field!r} value")
    if not isinstance(text, str):
        return Reject(name, line, f"{corpus.text_field!r} is {type(text).__name__}, not text")
    if not text.strip():
        return Reject(name, line, "empty text")
    if len(text) > corpus.max_chars:
        return Reject(
            name,
            line,
            f"text is {len(text):,} characters, more than the limit of {corpus.max_chars:,}"
            " (raise it with --max-chars)",
        )
    given = doc_id is not None and doc_id != ""
    # a file's path below the corpus folder, not its name: two folders may hold part-0.jsonl
    identifier = str(doc_id) if given else f"{_below_corpus(source, corpus)}:{line}"
    if identifier in seen:
        return Reject(name, line, f"duplicate id: {identifier!r}")
    seen.add(identifier)
    return Document(identifier, text)


def _below_corpus(path: Path, corpus: Corpus) -> str:
    base = corpus.path if corpus.path.is_dir() else path.parent
    return path.relative_to(base).as_posix()


def _read_jsonl(path: Path, corpus: Corpus, seen: set[str]) -> Iterator[Record]:
    name = str(path)
    with path.open("rb") as stream:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                yield Reject(name, number, f"bytes that are not UTF-8 at column {error.start + 1}")
                continue
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, RecursionError) as error:
                yield Reject(name, number, f"invalid JSON: {error}")
                continue
            if not isinstance(row, dict):
                yield Reject(name, number, f"a JSON {type(row).__name__}, not an object")
                continue
            if corpus.text_field not in row:
                fields = ", ".join(list(row)[:10]) or "none"
                yield Reject(name, number, f"no {corpus.text_field!r} field (fields: {fields})")
                continue
            doc_id = row.get(corpus.id_field)
            yield _document(path, number, row[corpus.text_field], doc_id, corpus, seen)


def _read_csv(path: Path, corpus: Corpus, seen: set[str]) -> Iterator[Record]:
    name = str(path)
    csv.field_size_limit(min(sys.maxsize, 2**31 - 1))
    # utf-8-sig: spreadsheet programs start a UTF-8 CSV with a byte-order mark, which would
    # otherwise stick to the first column's name
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as stream:
        delimiter = _delimiter(path, stream.readline(), corpus.text_field)
        stream.seek(0)
        reader = csv.reader(stream, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            return
        if corpus.text_field not in header:
            columns = ", ".join(header[:10])
            yield Reject(name, 1, f"no {corpus.text_field!r} column (columns: {columns})")
            return
        text_at = header.index(corpus.text_field)
        id_at = header.index(corpus.id_field) if corpus.id_field in header else None
        line = reader.line_num
        while True:
            start = line + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                yield Reject(name, start, f"malformed CSV: {error}")
                return
            line = reader.line_num
            if not row:
                continue
            yield _csv_record(path, start, row, text_at, id_at, corpus, seen)


def _delimiter(path: Path, header: str, text_field: str) -> str:
    """The suffix's delimiter, unless only another common one (as spreadsheets set by locale
    write: ';') splits the header into a list holding the text column."""
    usual = "\t" if path.suffix.lower() == ".tsv" else ","
    for candidate in (usual, ",", ";", "\t", "|"):
        if text_field in next(csv.reader([header.rstrip("\r\n")], delimiter=candidate), []):
            return candidate
    return usual


def _csv_record(
    path: Path,
    line: int,
    row: Sequence[str],
    text_at: int,
    id_at: int | None,
    corpus: Corpus,
    seen: set[str],
) -> Record:
    if any(_has_undecodable(value) for value in row):
        return Reject(str(path), line, "bytes that are not UTF-8")
    if text_at >= len(row):
        return Reject(str(path), line, f"row has {len(row)} values, no {corpus.text_field!r}")
    doc_id = row[id_at] if id_at is not None and id_at < len(row) else None
    return _document(path, line, row[text_at], doc_id, corpus, seen)


def _has_undecodable(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)


def _read_parquet(path: Path, corpus: Corpus, seen: set[str]) -> Iterator[Record]:
    name = str(path)
    try:
        table = pq.ParquetFile(path)
    except (OSError, ValueError) as error:
        yield Reject(name, 1, f"not a readable Parquet file: {error}")
        return
    columns = table.schema_arrow.names
    if corpus.text_field not in columns:
        yield Reject(
            name, 1, f"no {corpus.text_field!r} column (columns: {', '.join(columns[:10])})"
        )
        return
    wanted = [corpus.text_field] + ([corpus.id_field] if corpus.id_field in columns else [])
    row = 0
    for batch in table.iter_batches(batch_size=4096, columns=wanted):
        texts = batch.column(corpus.text_field).to_pylist()
        ids = batch.column(corpus.id_field).to_pylist() if len(wanted) == 2 else [None] * len(texts)
        for text, doc_id in zip(texts, ids, strict=True):
            row += 1
            yield _document(path, row, text, doc_id, corpus, seen)


def _read_text_file(path: Path, corpus: Corpus, seen: set[str]) -> Iterator[Record]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as error:
        yield Reject(str(path), 1, f"bytes that are not UTF-8 at byte {error.start}")
        return
    yield _document(path, 1, text, _below_corpus(path, corpus), corpus, seen)


def write_jsonl(docs: Sequence[Document], path: Path) -> Path:
    """Documents as a JSONL corpus (id, text): the format every command reads."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for doc in docs:
            out.write(json.dumps({"id": doc.id, "text": doc.text}, ensure_ascii=False) + "\n")
    return path


def sample_documents(corpus: Corpus, n: int, seed: int) -> list[Document]:
    """A uniform random sample of `n` documents in one pass (reservoir sampling), so a
    corpus larger than memory can be sampled; in corpus order, the same for the same seed."""
    rng = random.Random(seed)
    reservoir: list[tuple[int, Document]] = []
    for index, doc in enumerate(corpus.documents()):
        if len(reservoir) < n:
            reservoir.append((index, doc))
        else:
            slot = rng.randrange(index + 1)
            if slot < n:
                reservoir[slot] = (index, doc)
    return [doc for _, doc in sorted(reservoir, key=lambda pair: pair[0])]
