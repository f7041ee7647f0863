"""`falconer bench e2e`: both sides run for real (embedded LLM, real proxy) on a few test
documents; the JSON has every figure the report needs and the HTML report holds its plots."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from falconer.annotator.records import (
    Annotation,
    AnnotationRun,
    Failure,
    Provenance,
    save_run,
)
from falconer.bench.e2e_bench import E2EBench, E2EOptions, annotated_ids
from falconer.bench.e2e_report import write_report
from falconer.cli.app import app
from falconer.core.errors import InputError
from falconer.engine.acceleration import PAYBACK_DOCUMENTS, resolve_runtime

pytestmark = pytest.mark.slow
PNG = b"\x89PNG\r\n\x1a\n"


def test_e2e_runs_llm_only_and_falconer_scores_both_and_writes_a_report(
    bench_dir: Path, tmp_path: Path
) -> None:
    out, report = tmp_path / "e2e.json", tmp_path / "report" / "e2e.html"
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "e2e",
            "--task",
            str(bench_dir / "tasks" / "sst2-positive"),
            "--annotator",
            "oracle",
            "--annotate",
            "8",
            "--annotate",
            "16",
            "--max-docs",
            "6",
            "--min-steps",
            "10",
            "--threads",
            "2",
            "--runtime",
            "onnx",
            "--workdir",
            str(tmp_path / "runs"),
            "--json",
            str(out),
            "--report",
            str(report),
        ],
    )
    assert result.exit_code == 0, result.output
    (task,) = json.loads(out.read_text())["tasks"]
    assert task["documents"] == 6 and task["annotator"] == "oracle"
    assert 0.0 <= task["llm_only"]["score"]["score"] <= 1.0
    assert task["llm_only"]["run"]["usage"]["execute"]["calls"] == 6
    assert [run["n_annotate"] for run in task["falconer"]] == [8, 16]
    for run in task["falconer"]:
        assert run["run"]["usage"]["annotate"]["calls"] == 0  # the oracle is no LLM
        assert run["run"]["runtime"]["runtime"] == "onnx" and run["run"]["runtime"]["used"]
        assert run["execute_speedup"] > 1
        assert "projection" in run["projection_1m_documents"]["note"]
        assert 0.0 <= run["agreement_with_llm_only"]["score"] <= 1.0
        # the oracle labels train documents: no corpus document was annotated
        assert run["unannotated"]["documents"] == 6
        assert run["unannotated"]["score"] == run["score"]
    annotations = tmp_path / "runs" / "sst2-positive" / "falconer-n8" / "annotations" / "s1.jsonl"
    assert json.loads(annotations.read_text().splitlines()[0])["provenance"]["backend"] == "oracle"
    page = report.read_text()
    images = re.findall(r"src='data:image/png;base64,([^']+)'", page)
    assert len(images) == 3 and all(base64.b64decode(i).startswith(PNG) for i in images)
    assert "sst2-positive" in report.with_suffix(".md").read_text()


def test_e2e_can_annotate_actively_and_records_the_learning_curve(
    bench_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "e2e.json"
    args = ["bench", "e2e", "--task", str(bench_dir / "tasks" / "sst2-positive")]
    args += ["--active", "--annotate", "12", "--active-start", "8", "--active-step", "4"]
    args += ["--max-docs", "20", "--min-steps", "10", "--threads", "2", "--runtime", "torch"]
    args += ["--reference-plan", "--workdir", str(tmp_path / "runs"), "--json", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    (task,) = json.loads(out.read_text())["tasks"]
    (run,) = task["falconer"]
    assert task["active"] is True
    rounds = [r for r in run["run"]["learning_curve"] if "round" in r]
    assert [sum(r["annotated"].values()) for r in rounds] == [8, 12]
    # the random first round, then 4 chosen by unsureness: 12 of the 20 documents asked about
    assert run["unannotated"]["documents"] == 8
    assert run["run"]["usage"]["annotate"]["calls"] >= 12


def test_active_annotation_is_refused_with_the_oracle_annotator(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="active annotation asks the LLM"):
        E2EBench(tmp_path, E2EOptions(annotator="oracle", active=True))


def _browser() -> str:
    found = shutil.which("chromium-headless-shell") or shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("no headless Chromium in CI (scripts/test.sh installs it)")
        pytest.skip("no headless Chromium here (apt-get install chromium-headless-shell)")
    return found


def test_the_html_report_shows_its_plots_in_headless_chromium(tmp_path: Path) -> None:
    runs = Path(__file__).parent / "data" / "e2e-sample.json"
    report = tmp_path / "e2e.html"
    write_report(json.loads(runs.read_text())["tasks"], report, "test machine")
    shot = tmp_path / "shot.png"
    subprocess.run(
        [
            _browser(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1100,1800",
            report.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(shot) as image:
        pixels = np.asarray(image.convert("RGB"), dtype=np.int16)
    blue, red = _count(pixels, (0x24, 0x71, 0xA3)), _count(pixels, (0xC0, 0x39, 0x2B))
    assert blue > 500 and red > 100, "the plots' Falconer (blue) and LLM-only (red) marks"


def _count(pixels: np.ndarray, colour: tuple[int, int, int]) -> int:
    return int((np.abs(pixels - np.array(colour)) <= 12).all(axis=-1).sum())


def test_every_document_any_step_asked_the_annotator_about_counts_as_annotated(
    tmp_path: Path,
) -> None:
    provenance = Provenance("embedded", "model", "label_v2", "2026-12-01T00:00:00+00:00")
    label = AnnotationRun("Is it good?", "label")
    label.annotations = [Annotation("d1", "good", "Is it good?", "label", provenance, True)]
    label.failures = [Failure("d3", "odd", "invalid JSON twice")]
    spans = AnnotationRun("Extract the parts.", "span")
    spans.annotations = [Annotation("d2", "a screen", "Extract the parts.", "span", provenance)]
    save_run(label, tmp_path / "annotations" / "s1.jsonl")
    save_run(spans, tmp_path / "annotations" / "s2.jsonl")
    assert annotated_ids(tmp_path) == {"d1", "d2", "d3"}


def test_a_rerun_keeps_the_corpus_file_so_its_runs_can_resume(
    tmp_path: Path, bench_dir: Path
) -> None:
    task = bench_dir / "tasks" / "sst2-positive"
    bench = E2EBench(tmp_path, E2EOptions(max_docs=5))
    ids = {"sst2-te-0", "sst2-te-1", "sst2-te-2"}
    first = bench._corpus(task, ids, tmp_path / "corpus.jsonl").fingerprint()
    again = bench._corpus(task, ids, tmp_path / "corpus.jsonl")
    assert again.fingerprint() == first  # what a resumed run checks
    other = bench._corpus(task, ids | {"sst2-te-3"}, tmp_path / "corpus.jsonl")
    assert other.count() == 4 and other.fingerprint() != first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.jsonl"]


def test_e2e_serves_falconer_from_the_runtime_auto_stands_for_whatever_the_split_size(
    tmp_path: Path,
) -> None:
    """Its 1M-document projection uses the rate measured here, so the proxy must run as it
    would over 1M documents: `auto` alone leaves a test split to fp32 unchecked."""
    bench = E2EBench(tmp_path, E2EOptions(max_docs=PAYBACK_DOCUMENTS // 100))
    assert bench._miner(tmp_path / "run").options.runtime == resolve_runtime("auto") != "auto"
    asked = E2EBench(tmp_path, E2EOptions(runtime="torch"))._miner(tmp_path / "torch")
    assert asked.options.runtime == "torch"
