"""The Python API: `falconer.apply` / results as pandas in every format, primitives direct."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest

import falconer
from falconer.core.documents import Document
from falconer.engine.corpus import write_jsonl
from falconer.engine.sinks import FORMATS
from falconer.plan.schema import Plan
from falconer.proxy import UnseenInstructionWarning

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory, small_proxy_dir: Path, plan: Plan) -> Path:
    run = tmp_path_factory.mktemp("run")
    shutil.copytree(small_proxy_dir, run / "proxy")
    (run / "plan.json").write_text(plan.to_json())
    return run


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory, bench_dir: Path) -> Path:
    lines = (bench_dir / "tasks" / "conll-persons" / "test.jsonl").read_text().splitlines()[:40]
    docs = [Document(row["id"], row["text"]) for row in map(json.loads, lines)]
    return write_jsonl(docs, tmp_path_factory.mktemp("corpus") / "news.jsonl")


@pytest.mark.parametrize("output_format", FORMATS)
def test_results_open_in_pandas_the_same_way_from_every_format(
    run_dir: Path, corpus: Path, tmp_path: Path, output_format: str
) -> None:
    result = falconer.apply(run_dir, corpus, tmp_path / "out", output_format=output_format)
    frame = result.to_pandas()
    assert list(frame.columns) == [
        "doc_id",
        "field",
        "kind",
        "start",
        "end",
        "text",
        "value",
        "confidence",
        "model",
    ]
    assert len(frame) == result.report.execute["rows"]
    assert str(frame["start"].dtype) == "Int64" and str(frame["value"].dtype) == "boolean"
    reference = falconer.apply(run_dir, corpus, tmp_path / "reference").to_pandas()
    pd.testing.assert_frame_equal(frame, reference)


def test_a_dataframe_or_a_list_of_texts_is_a_corpus_and_a_rerun_resumes_it(
    run_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    frame = pd.read_json(corpus, lines=True).rename(columns={"id": "key", "text": "sentence"})
    from_frame = falconer.apply(run_dir, frame, tmp_path / "frame", text_field="sentence",
                                id_field="key").to_pandas()  # fmt: skip
    from_file = falconer.apply(run_dir, corpus, tmp_path / "file").to_pandas()
    pd.testing.assert_frame_equal(from_frame, from_file)
    saved = tmp_path / "frame" / "input.parquet"
    written = saved.stat().st_mtime_ns
    again = falconer.apply(run_dir, frame, tmp_path / "frame", text_field="sentence",
                           id_field="key")  # fmt: skip
    assert saved.stat().st_mtime_ns == written and again.report.execute["resumed_at"] == 40
    texts = [*frame["sentence"][:3], None]
    listed = falconer.apply(run_dir, texts, tmp_path / "list")  # type: ignore[arg-type]
    assert set(listed.to_pandas()["doc_id"]) <= {"0", "1", "2"}
    assert listed.report.execute["documents"] == 3 and listed.report.execute["rejected"] == 1
    with pytest.raises(falconer.core.errors.InputError, match=r"no 'text' column \(columns: key"):
        falconer.apply(run_dir, frame, tmp_path / "no-column")


def test_get_label_and_get_span_answer_directly_from_a_proxy_folder(run_dir: Path) -> None:
    sentiment = Plan.load(run_dir / "plan.json").steps[0].instruction
    labels = falconer.get_label(["A gorgeous, moving film."], sentiment, proxy=run_dir / "proxy")
    assert len(labels) == 1 and 0.0 <= labels[0].probability <= 1.0
    text = "Ada Lovelace met Charles Babbage in London."
    (result,) = falconer.get_span([text], "Extract the names of people.", proxy=run_dir / "proxy")
    assert all(text[s.start : s.end] == s.text for s in result.spans)


def test_apply_refuses_a_folder_that_is_not_a_finished_run(tmp_path: Path, corpus: Path) -> None:
    with pytest.raises(falconer.core.errors.InputError, match="not a finished run"):
        falconer.apply(tmp_path, corpus, tmp_path / "out")


def test_an_instruction_the_proxy_never_learned_is_answered_with_a_warning(run_dir: Path) -> None:
    proxy = run_dir / "proxy"
    sentiment = Plan.load(run_dir / "plan.json").steps[0].instruction
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a trained instruction: no warning at all
        falconer.get_label(["A gorgeous, moving film."], sentiment, proxy=proxy)
    with pytest.warns(UnseenInstructionWarning, match="not trained on 'Is it about cooking") as w:
        (answer,) = falconer.get_label(["Stir the soup."], "Is it about cooking?", proxy=proxy)
    assert repr(sentiment) in str(w[0].message) and 0.0 <= answer.probability <= 1.0


def test_a_proxy_that_was_never_fitted_warns_that_its_answers_are_random() -> None:
    fresh = falconer.Proxy.from_pretrained("default")
    with pytest.warns(UnseenInstructionWarning, match="has not been trained"):
        fresh.get_span(["Ada met Charles."], "Extract the names of people.")


def test_a_damaged_proxy_folder_is_named_as_damaged_not_a_parser_traceback(
    run_dir: Path, corpus: Path, tmp_path: Path
) -> None:
    damaged = tmp_path / "run"
    shutil.copytree(run_dir, damaged)
    heads = damaged / "proxy" / "heads.safetensors"
    heads.write_bytes(heads.read_bytes()[:100])  # a copy cut short
    with pytest.raises(falconer.core.errors.InputError, match="is a damaged proxy folder"):
        falconer.apply(damaged, corpus, tmp_path / "out")
    (damaged / "proxy" / "proxy.json").write_text("{")
    with pytest.raises(falconer.core.errors.InputError, match="is a damaged proxy folder"):
        falconer.Proxy.from_pretrained(damaged / "proxy")


def test_primitives_refuse_a_folder_that_holds_no_trained_proxy(tmp_path: Path) -> None:
    with pytest.raises(falconer.core.errors.InputError, match="not a trained proxy folder"):
        falconer.get_span(["Ada met Charles."], "Extract the names of people.", proxy=tmp_path)
