"""The console script reports a bad input that no command catches itself in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_a_pipeline_task_given_to_bench_inference_is_one_error_line_not_a_traceback(
    bench_dir: Path, tmp_path: Path
) -> None:
    task = bench_dir / "tasks" / "laptop-aspects-in-criticized"
    command = [sys.executable, "-m", "falconer", "bench", "inference"]
    command += ["--proxy", str(tmp_path), "--task", str(task)]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 2
    assert "error:" in finished.stderr and "is not a single primitive" in finished.stderr
    assert "Traceback" not in finished.stderr + finished.stdout
