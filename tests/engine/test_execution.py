"""The execute stage: short circuits, every output format, resume after a crash, rejects."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.core.results import LabelResult, SpanResult
from falconer.engine.corpus import Corpus, no_documents, reject_kind, write_jsonl
from falconer.engine.execution import Execution
from falconer.engine.executor import PlanExecutor
from falconer.engine.sinks import FORMATS
from falconer.plan.schema import Plan
from falconer.proxy import Proxy

pytestmark = pytest.mark.slow


class CountingProxy:
    """The real proxy, with a record of which texts each instruction was asked about."""

    name = "proxy"

    def __init__(self, proxy: Proxy) -> None:
        self.proxy = proxy
        self.asked: dict[str, list[str]] = {}

    def get_label(self, texts: Sequence[str], instruction: str) -> list[LabelResult]:
        self.asked.setdefault(instruction, []).extend(texts)
        return self.proxy.get_label(texts, instruction)

    def get_span(self, texts: Sequence[str], instruction: str) -> list[SpanResult]:
        self.asked.setdefault(instruction, []).extend(texts)
        return self.proxy.get_span(texts, instruction)


def _docs(bench_dir: Path, n: int, task: str = "sst2-positive") -> list[Document]:
    rows = [json.loads(line) for line in (bench_dir / "tasks" / task / "test.jsonl").open()]
    return [Document(str(row["id"]), row["text"]) for row in rows[:n]]


def test_span_steps_run_only_on_documents_the_filter_keeps(
    small_proxy: Proxy, bench_dir: Path, plan: Plan, instructions: tuple[str, str]
) -> None:
    sentiment, people = instructions
    docs = _docs(bench_dir, 80)
    answerer = CountingProxy(small_proxy)
    outcome = PlanExecutor(plan, answerer).run(docs)
    labels = small_proxy.get_label([d.text for d in docs], sentiment)
    positive = [d.text for d, r in zip(docs, labels, strict=True) if r.value]
    assert 0 < len(positive) < len(docs), "the test needs a filter that keeps some, not all"
    assert answerer.asked[sentiment] == [d.text for d in docs]
    assert answerer.asked[people] == positive
    assert outcome.kept == len(positive)
    assert outcome.asked == {"positive": len(docs), "people": len(positive)}
    kept_rows = [r for r in outcome.rows if r.field == "_kept"]
    assert len(kept_rows) == len(positive)


def test_a_span_step_read_by_two_fields_is_asked_once_per_document(
    small_proxy: Proxy, bench_dir: Path, instructions: tuple[str, str]
) -> None:
    people = instructions[1]
    docs = _docs(bench_dir, 40, "conll-persons")
    plan = Plan.parse(
        {
            "steps": [{"id": "s", "op": "get_span", "instruction": people}],
            "fields": {"names": "s", "people": "s"},
        }
    )
    answerer = CountingProxy(small_proxy)
    outcome = PlanExecutor(plan, answerer).run(docs)
    assert answerer.asked[people] == [d.text for d in docs]
    assert outcome.asked == {"s": len(docs)}
    by_field = {
        name: [(r.doc_id, r.start, r.end) for r in outcome.rows if r.field == name]
        for name in ("names", "people")
    }
    assert by_field["names"], "the test needs a proxy that finds some names"
    assert by_field["names"] == by_field["people"]


@pytest.mark.filterwarnings("ignore::falconer.proxy.UnseenInstructionWarning")  # a 2nd question
def test_and_asks_the_second_step_only_where_the_first_holds_and_or_where_it_fails(
    small_proxy: Proxy, bench_dir: Path, instructions: tuple[str, str]
) -> None:
    sentiment = instructions[0]
    docs = _docs(bench_dir, 60)
    other = "Is this review about the acting?"
    steps = [
        {"id": "a", "op": "get_label", "instruction": sentiment},
        {"id": "b", "op": "get_label", "instruction": other},
    ]
    first = [r.value for r in small_proxy.get_label([d.text for d in docs], sentiment)]
    for expression, expected in (("a and b", sum(first)), ("a or b", len(docs) - sum(first))):
        answerer = CountingProxy(small_proxy)
        plan = Plan.parse({"steps": steps, "filter": expression})
        PlanExecutor(plan, answerer).run(docs)
        assert len(answerer.asked.get(other, [])) == expected, expression


@pytest.mark.parametrize("output_format", FORMATS)
def test_every_output_format_holds_the_same_rows_with_exact_offsets(
    small_proxy: Proxy, bench_dir: Path, tmp_path: Path, output_format: str, plan: Plan
) -> None:
    docs = _docs(bench_dir, 50)
    corpus = Corpus(write_jsonl(docs, tmp_path / "corpus.jsonl"))
    report = Execution(
        plan, small_proxy, corpus, tmp_path / "out", output_format, batch_size=16
    ).run()
    assert report.documents == 50 and report.rejected == 0
    frame = _read(Path(report.results), output_format)
    assert len(frame) == report.rows
    assert set(frame["model"]) <= {"proxy"}
    texts = {d.id: d.text for d in docs}
    spans = frame[frame["kind"] == "span"]
    for doc_id, start, end, text in zip(
        spans.doc_id, spans.start, spans.end, spans.text, strict=True
    ):
        assert texts[doc_id][int(start) : int(end)] == text
    assert sorted(frame[frame["field"] == "_kept"]["doc_id"]) == sorted(set(frame["doc_id"]))


def _read(path: Path, output_format: str) -> pd.DataFrame:
    if output_format == "parquet":
        return pd.read_parquet(path)
    if output_format == "jsonl":
        return pd.read_json(path, lines=True, dtype={"doc_id": str})
    if output_format == "csv":
        return pd.read_csv(path, dtype={"doc_id": str, "text": str})
    with duckdb.connect(str(path), read_only=True) as connection:
        return connection.execute("select * from results").df()


@pytest.mark.parametrize("output_format", FORMATS)
def test_a_rerun_after_completion_does_no_work_and_keeps_every_result(
    small_proxy: Proxy, bench_dir: Path, tmp_path: Path, plan: Plan, output_format: str
) -> None:
    corpus = Corpus(write_jsonl(_docs(bench_dir, 20), tmp_path / "corpus.jsonl"))
    out = tmp_path / "out"
    first = Execution(plan, small_proxy, corpus, out, output_format).run()
    expected = _read(Path(first.results), output_format)
    for _ in range(2):  # a finished parquet run's merge once wiped its results when re-finished
        again = Execution(plan, small_proxy, corpus, out, output_format).run()
        assert again.rows == first.rows == len(expected) > 0
        assert again.resumed_at == first.records
        pd.testing.assert_frame_equal(_read(Path(again.results), output_format), expected)


def test_a_rerun_with_a_different_plan_needs_restart(
    small_proxy: Proxy, bench_dir: Path, tmp_path: Path, plan: Plan
) -> None:
    corpus = Corpus(write_jsonl(_docs(bench_dir, 20), tmp_path / "corpus.jsonl"))
    first = Execution(plan, small_proxy, corpus, tmp_path / "out").run()
    other = Plan.parse({**plan.to_neutral(), "filter": "not positive"})
    with pytest.raises(InputError, match="--restart"):
        Execution(other, small_proxy, corpus, tmp_path / "out").run()
    restarted = Execution(other, small_proxy, corpus, tmp_path / "out", restart=True).run()
    assert restarted.kept == 20 - first.kept


def test_results_of_a_retrained_proxy_or_other_cascade_settings_are_never_reused(
    small_proxy: Proxy, bench_dir: Path, tmp_path: Path, plan: Plan
) -> None:
    corpus = Corpus(write_jsonl(_docs(bench_dir, 20), tmp_path / "corpus.jsonl"))
    out = tmp_path / "out"
    Execution(plan, small_proxy, corpus, out, identity='{"proxy": "a"}').run()
    with pytest.raises(InputError, match="--restart"):
        Execution(plan, small_proxy, corpus, out, identity='{"proxy": "b"}').run()
    again = Execution(plan, small_proxy, corpus, out, identity='{"proxy": "a"}').run()
    assert again.resumed_at == 20


def test_bad_rows_go_to_the_rejects_file_with_file_and_line_and_the_run_goes_on(
    small_proxy: Proxy, tmp_path: Path, plan: Plan
) -> None:
    corpus_path = tmp_path / "corpus.jsonl"
    lines = [
        b'{"id": "a", "text": "A wonderful, moving film."}',
        b'{"id": "b", "text": "broken',
        b'{"id": "c", "text": "caf\xe9 au lait"}',
        b'{"id": "d", "body": "no text field here"}',
        b'{"id": "e", "text": "   "}',
        b'{"id": "f", "text": "' + b"x" * 300 + b'"}',
        b"[1, 2]",
        b'{"id": "g", "text": "Dull and far too long."}',
    ]
    corpus_path.write_bytes(b"\n".join(lines) + b"\n")
    corpus = Corpus(corpus_path, max_chars=200)
    report = Execution(plan, small_proxy, corpus, tmp_path / "out", "jsonl").run()
    assert report.documents == 2 and report.rejected == 6
    rejects = [json.loads(line) for line in Path(report.rejects).read_text().splitlines()]
    assert [r["line"] for r in rejects] == [2, 3, 4, 5, 6, 7]
    assert all(r["source"] == str(corpus_path) for r in rejects)
    reasons = " | ".join(r["reason"] for r in rejects)
    for expected in (
        "invalid JSON",
        "not UTF-8",
        "no 'text' field",
        "empty text",
        "300 characters",
        "not an object",
    ):
        assert expected in reasons


def test_csv_parquet_and_a_folder_of_text_files_are_read_with_chosen_fields(tmp_path: Path) -> None:
    pd.DataFrame({"review": ["Great keyboard.", ""], "key": ["k1", "k2"]}).to_csv(
        tmp_path / "a.csv", index=False
    )
    pd.DataFrame({"review": ["Bad screen.", None], "key": ["p1", "p2"]}).to_parquet(
        tmp_path / "b.parquet"
    )
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "one.txt").write_text("Fine battery.")
    (tmp_path / "notes" / "bad.txt").write_bytes(b"\xff\xfe broken")
    found = list(Corpus(tmp_path, text_field="review", id_field="key").records())
    documents = [(r.id, r.text) for r in found if isinstance(r, Document)]
    assert documents == [
        ("k1", "Great keyboard."),
        ("p1", "Bad screen."),
        ("notes/one.txt", "Fine battery."),
    ]
    rejected = sorted((Path(r.source).name, r.line) for r in found if not isinstance(r, Document))
    assert rejected == [("a.csv", 3), ("b.parquet", 2), ("bad.txt", 1)]


def test_a_document_whose_id_an_earlier_one_has_is_rejected_so_every_result_row_is_one_document(
    tmp_path: Path,
) -> None:
    (tmp_path / "a.jsonl").write_text(
        '{"id": "r1", "text": "Loud fan."}\n{"id": "r1", "text": "Dim screen."}\n'
    )
    pd.DataFrame({"id": ["r2", "r1"], "text": ["Good keys.", "Loud fan."]}).to_parquet(
        tmp_path / "b.parquet"
    )
    found = list(Corpus(tmp_path).records())
    assert [(d.id, d.text) for d in found if isinstance(d, Document)] == [
        ("r1", "Loud fan."),
        ("r2", "Good keys."),
    ]
    rejected = [
        (Path(r.source).name, r.line, r.reason) for r in found if not isinstance(r, Document)
    ]
    assert rejected == [
        ("a.jsonl", 2, "duplicate id: 'r1'"),
        ("b.parquet", 2, "duplicate id: 'r1'"),
    ]
    assert reject_kind(rejected[0][2]) == "duplicate id"
    # a second pass reads the same: the ids seen belong to one pass, not to the corpus
    assert [r.id for r in Corpus(tmp_path).documents()] == ["r1", "r2"]


def test_documents_without_ids_in_same_named_files_of_two_folders_get_distinct_ids(
    tmp_path: Path,
) -> None:
    for month in ("2024-01", "2024-02"):
        (tmp_path / month).mkdir()
        (tmp_path / month / "part-0.jsonl").write_text('{"text": "The battery lasts."}\n')
    ids = [d.id for d in Corpus(tmp_path).documents()]
    assert ids == ["2024-01/part-0.jsonl:1", "2024-02/part-0.jsonl:1"]


def test_spreadsheet_exports_are_read_byte_order_mark_and_semicolons_included(
    tmp_path: Path,
) -> None:
    # Excel's "CSV UTF-8" starts with a byte-order mark, and in many locales it separates by ';'
    (tmp_path / "excel.csv").write_bytes('\ufefftext,id\n"Great, really.",e1\n'.encode())
    (tmp_path / "semicolons.csv").write_bytes(b'id;text\ns1;"Slow; loud."\ns2;Fine, quiet.\n')
    (tmp_path / "marked.jsonl").write_bytes('\ufeff{"id": "j1", "text": "Warm."}\n'.encode())
    found = [(d.id, d.text) for d in Corpus(tmp_path).documents()]
    assert found == [
        ("e1", "Great, really."),
        ("j1", "Warm."),
        ("s1", "Slow; loud."),
        ("s2", "Fine, quiet."),
    ]


def test_a_corpus_in_another_encoding_is_told_to_convert_to_utf8(tmp_path: Path) -> None:
    (tmp_path / "latin.csv").write_bytes("id,text\n1,caf\u00e9 cr\u00e8me\n".encode("cp1252"))
    with pytest.raises(InputError, match=r"bytes that are not UTF-8 .*convert it first"):
        raise no_documents(Corpus(tmp_path / "latin.csv"))


def test_a_missing_text_column_is_one_clear_reject_and_an_all_rejected_corpus_an_error(
    small_proxy: Proxy, tmp_path: Path, plan: Plan
) -> None:
    pd.DataFrame({"body": ["x"]}).to_csv(tmp_path / "c.csv", index=False)
    corpus = Corpus(tmp_path / "c.csv")
    (reject,) = list(corpus.records())
    assert "no 'text' column (columns: body)" in reject.reason
    with pytest.raises(InputError, match="no documents") as raised:
        Execution(plan, small_proxy, corpus, tmp_path / "out").run()
    assert "no 'text' column (columns: body) (1x)" in str(raised.value)
    assert "--text-field" in str(raised.value) and "rejects.jsonl" in str(raised.value)


def test_rejects_are_tallied_by_kind_keeping_what_parentheses_name() -> None:
    assert reject_kind("invalid JSON: Expecting value: line 1 column 1 (char 0)") == "invalid JSON"
    assert reject_kind("no 'text' field (fields: body, title)") == (
        "no 'text' field (fields: body, title)"
    )
    assert reject_kind("empty text") == "empty text"
