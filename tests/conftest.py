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
    """The timed stages of a `mine` run on the default runtime over a test's corpus, which is
    too small for `auto` to check a faster runtime (no `accelerate` stage)."""
    from falconer.engine.acceleration import PAYBACK_DOCUMENTS

    assert PAYBACK_DOCUMENTS > 10_000  # the tests' corpora have fewer documents
    return {"plan", "annotate", "train", "execute"}
