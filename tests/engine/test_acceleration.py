"""The execute stage serves the proxy from a faster runtime once it has agreed with PyTorch, and
says which runtime answered; a rerun on another runtime never passes off the old results."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.engine import acceleration
from falconer.engine.apply import apply_run
from falconer.engine.corpus import Corpus, write_jsonl
from falconer.plan.schema import Plan
from falconer.proxy.runtimes import native_bfloat16


@pytest.fixture()
def run_and_corpus(
    tmp_path: Path, bench_dir: Path, small_proxy_dir: Path, plan: Plan
) -> tuple[Path, Corpus]:
    run = tmp_path / "run"
    shutil.copytree(small_proxy_dir, run / "proxy")
    (run / "plan.json").write_text(plan.to_json())
    docs = []
    for task in ("sst2-positive", "conll-persons"):
        rows = (bench_dir / "tasks" / task / "test.jsonl").read_text().splitlines()[:300]
        docs += [Document(f"{task}-{i}", json.loads(r)["text"]) for i, r in enumerate(rows)]
    return run, Corpus(write_jsonl(docs, tmp_path / "corpus.jsonl"))


def served_beside_torch(
    run_and_corpus: tuple[Path, Corpus], folder: Path, runtime: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Apply the run with PyTorch fp32 and with `runtime`, check the latter served and said
    so; both results."""
    run, corpus = run_and_corpus
    torch_run = apply_run(run, corpus, folder / "torch", runtime="torch", threads=2)
    other_run = apply_run(run, corpus, folder / runtime, runtime=runtime, threads=2)
    assert torch_run.execute["runtime"]["runtime"] == "torch"
    served = other_run.execute["runtime"]
    assert served["runtime"] == runtime and served["used"]
    assert min(served["agreement"].values()) >= 0.99
    assert f"on {runtime}" in (folder / runtime / "report.md").read_text()
    return pd.read_parquet(torch_run.outputs["results"]), pd.read_parquet(
        other_run.outputs["results"]
    )


def test_onnx_serves_the_execute_stage_with_pytorch_answers(
    run_and_corpus: tuple[Path, Corpus], tmp_path: Path
) -> None:
    expected, actual = served_beside_torch(run_and_corpus, tmp_path, "onnx")
    exact = ["doc_id", "field", "kind", "start", "end", "text", "value"]
    assert len(actual) == len(expected) > 0
    pd.testing.assert_frame_equal(actual[exact], expected[exact])
    assert (actual["confidence"] - expected["confidence"]).abs().max() < 1e-3


def test_results_of_one_runtime_are_not_resumed_by_another(
    run_and_corpus: tuple[Path, Corpus], tmp_path: Path
) -> None:
    run, corpus = run_and_corpus
    apply_run(run, corpus, tmp_path / "out", runtime="onnx", threads=2)
    with pytest.raises(InputError, match="--restart"):
        apply_run(run, corpus, tmp_path / "out", runtime="torch", threads=2)
    with pytest.raises(InputError, match="unknown runtime"):
        apply_run(run, corpus, tmp_path / "out", runtime="tensorrt")


@pytest.mark.skipif(not native_bfloat16(), reason="this CPU has no native bfloat16")
def test_bfloat16_serves_the_execute_stage_once_it_agrees(
    run_and_corpus: tuple[Path, Corpus], tmp_path: Path
) -> None:
    expected, actual = served_beside_torch(run_and_corpus, tmp_path, "bf16")
    answer = ["doc_id", "field", "start", "end", "value"]
    same = expected[answer].merge(actual[answer], how="outer", indicator=True)
    assert (same["_merge"] == "both").mean() >= 0.98


def test_auto_serves_bfloat16_where_the_cpu_computes_it_and_guarded_int8_elsewhere(
    run_and_corpus: tuple[Path, Corpus], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, corpus = run_and_corpus
    # the fixture's 600 documents, as if a check of a faster runtime paid back from there on
    monkeypatch.setattr(acceleration, "PAYBACK_DOCUMENTS", 600)
    served = apply_run(run, corpus, tmp_path / "auto", threads=2).execute["runtime"]
    assert served["asked"] == "auto" and served["checked"]
    assert served["runtime"] == ("bf16" if native_bfloat16() else "onnx-int8")
    assert served["used"] and min(served["agreement"].values()) >= 0.99
    # a CPU without native bfloat16 (emulated, slower than fp32): int8, checked like any other
    monkeypatch.setattr(acceleration, "native_bfloat16", lambda: False)
    served = apply_run(run, corpus, tmp_path / "emulated", threads=2).execute["runtime"]
    assert (served["asked"], served["runtime"], served["used"]) == ("auto", "onnx-int8", True)
    assert "recomputed in fp32" in served["reason"]


def test_torch_asked_for_serves_unchecked(
    run_and_corpus: tuple[Path, Corpus], tmp_path: Path
) -> None:
    run, corpus = run_and_corpus
    served = apply_run(run, corpus, tmp_path / "fp32", runtime="torch").execute["runtime"]
    assert served == {
        "runtime": "torch",
        "used": True,
        "agreement": {},
        "reason": "asked for",
        "asked": "torch",
        "checked": False,
    }


def test_auto_leaves_a_corpus_too_small_to_pay_a_check_back_to_pytorch_unchecked(
    run_and_corpus: tuple[Path, Corpus], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run, corpus = run_and_corpus
    monkeypatch.setattr(acceleration, "PAYBACK_DOCUMENTS", 601)
    report = apply_run(run, corpus, tmp_path / "auto", threads=2)
    served = report.execute["runtime"]
    assert (served["asked"], served["runtime"], served["used"]) == ("auto", "torch", True)
    assert not served["checked"] and served["agreement"] == {}
    assert (
        served["reason"]
        == "600 documents, fewer than the 601 a check of a faster runtime pays back"
    )
    assert not (tmp_path / "auto" / "onnx").exists()  # nothing exported
    assert f"on torch ({served['reason']})" in (tmp_path / "auto" / "report.md").read_text()
