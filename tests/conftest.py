from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

BENCH = Path(__file__).resolve().parents[1].parent / "shared" / "bench"


@pytest.fixture(scope="session")
def bench_dir() -> Path:
    if not (BENCH / "tasks").is_dir():
        pytest.skip(f"benchmark data not found at {BENCH}")
    return BENCH


@pytest.fixture(scope="session")
def mine_stages() -> set[str]:
    """The timed stages of a `mine` run on the default runtime, which checks bfloat16 against
    fp32 first (an `accelerate` stage) where this CPU computes bfloat16 natively."""
    from falconer.engine.acceleration import resolve_runtime

    checked = {"accelerate"} if resolve_runtime("auto") != "torch" else set()
    return {"plan", "annotate", "train", "execute"} | checked
