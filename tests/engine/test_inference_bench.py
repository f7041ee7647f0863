"""`falconer bench inference` times a runtime only after it agreed with PyTorch fp32, and says
how far its answers on the timed texts moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from falconer.cli.app import app

pytestmark = pytest.mark.slow


def test_inference_bench_times_agreeing_runtimes_and_reports_refusals(
    bench_dir: Path, small_proxy_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "inference.json"
    runtimes = ["--runtime", "torch", "--runtime", "onnx", "--runtime", "onnx-int8"]
    result = CliRunner().invoke(
        app,
        [
            "bench",
            "inference",
            "--proxy",
            str(small_proxy_dir),
            "--task",
            str(bench_dir / "tasks" / "sst2-positive"),
            *runtimes,
            "--json",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    rows = {row["runtime"]: row for row in json.loads(out.read_text())}
    assert rows["torch"]["used"] and rows["torch"]["docs_per_second"] > 0
    assert rows["torch"]["n_docs"] == 872
    onnx = rows["onnx"]
    assert onnx["used"] and onnx["agreement"] == onnx["test_agreement"] == 1.0
    int8 = rows["onnx-int8"]
    if int8["used"]:
        assert int8["agreement"] >= 0.99 and int8["docs_per_second"] > 0
    else:
        assert int8["docs_per_second"] == 0 and "< 0.99" in int8["reason"]
