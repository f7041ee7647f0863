"""A run killed with SIGKILL in the middle of the execute stage resumes with nothing lost and
nothing written twice: every document of a 20,000-document corpus appears exactly once."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from falconer.core.documents import Document
from falconer.engine.corpus import write_jsonl
from falconer.plan.schema import Plan

pytestmark = pytest.mark.slow
N_DOCS = 20_000


def _run_folder(tmp_path: Path, small_proxy_dir: Path, plan: Plan) -> Path:
    run = tmp_path / "run"
    shutil.copytree(small_proxy_dir, run / "proxy")
    every_document = Plan.parse(
        {
            **plan.to_neutral(),
            "filter": None,
            "fields": {"positive": "positive", "people": "people"},
        }
    )
    (run / "plan.json").write_text(every_document.to_json())
    return run


def _corpus(tmp_path: Path, bench_dir: Path) -> Path:
    rows = (bench_dir / "tasks" / "sst2-positive" / "test.jsonl").read_text().splitlines()
    texts = [json.loads(line)["text"] for line in rows]
    docs = [Document(f"doc-{i}", texts[i % len(texts)]) for i in range(N_DOCS)]
    return write_jsonl(docs, tmp_path / "corpus.jsonl")


def _records_done(checkpoint: Path) -> int:
    try:
        state = json.loads(checkpoint.read_text())["state"]
    except (OSError, ValueError, KeyError):
        return 0
    return int((state.get("report") or {}).get("records", 0))


def test_kill_9_during_execute_then_resume_writes_each_document_exactly_once(
    tmp_path: Path, bench_dir: Path, small_proxy_dir: Path, plan: Plan
) -> None:
    run = _run_folder(tmp_path, small_proxy_dir, plan)
    corpus = _corpus(tmp_path, bench_dir)
    out = tmp_path / "out"
    command = [
        sys.executable,
        "-m",
        "falconer",
        "apply",
        str(run),
        "--input",
        str(corpus),
        "--output",
        str(out),
        "--format",
        "jsonl",
        "--batch-size",
        "500",
        "--threads",
        "1",
    ]
    victim = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while _records_done(out / "checkpoint.json") < 5_000:
        assert victim.poll() is None, victim.stderr.read().decode() if victim.stderr else ""
        assert time.monotonic() < deadline, "no progress within 10 minutes"
        time.sleep(0.05)
    victim.send_signal(signal.SIGKILL)
    assert victim.wait() == -signal.SIGKILL
    done_before = _records_done(out / "checkpoint.json")
    assert 5_000 <= done_before < N_DOCS, "the kill has to land in the middle of the run"

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert resumed.returncode == 0, resumed.stderr
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    labels = Counter(row["doc_id"] for row in rows if row["field"] == "positive")
    assert set(labels) == {f"doc-{i}" for i in range(N_DOCS)}
    assert set(labels.values()) == {1}
    spans = Counter((r["doc_id"], r["start"], r["end"]) for r in rows if r["field"] == "people")
    assert not spans or max(spans.values()) == 1
    report = json.loads((out / "report.json").read_text())
    assert report["execute"]["documents"] == N_DOCS
    assert report["execute"]["resumed_at"] == done_before
