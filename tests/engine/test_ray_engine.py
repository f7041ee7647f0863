"""`--engine ray`: Ray Data in local mode gives the same results file as the local engine."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from falconer.core.documents import Document
from falconer.engine.corpus import Corpus, write_jsonl
from falconer.engine.mine import apply_run
from falconer.engine.ray_engine import RayOptions
from falconer.plan.schema import Plan

pytestmark = pytest.mark.slow
N_DOCS = 20_000


@pytest.fixture(scope="module")
def ray_local() -> Iterator[None]:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


@pytest.mark.timeout(600)
def test_ray_local_mode_output_is_identical_to_the_local_engine(
    ray_local: None, tmp_path: Path, bench_dir: Path, small_proxy_dir: Path, plan: Plan
) -> None:
    run = tmp_path / "run"
    shutil.copytree(small_proxy_dir, run / "proxy")
    (run / "plan.json").write_text(plan.to_json())
    rows = (bench_dir / "tasks" / "conll-persons" / "test.jsonl").read_text().splitlines()
    texts = [json.loads(line)["text"] for line in rows]
    docs = [Document(f"d{i}", texts[i % len(texts)]) for i in range(N_DOCS)]
    corpus_path = write_jsonl(docs, tmp_path / "corpus.jsonl")
    with corpus_path.open("a") as out:
        out.write('{"id": "bad", "text": ""}\n')
    corpus = Corpus(corpus_path)

    local = apply_run(run, corpus, tmp_path / "local", threads=2)
    on_ray = apply_run(run, corpus, tmp_path / "ray", ray=RayOptions(workers=1, batch_size=256))

    assert on_ray.execute["documents"] == local.execute["documents"] == N_DOCS
    assert on_ray.execute["rejected"] == local.execute["rejected"] == 1
    assert on_ray.execute["kept"] == local.execute["kept"] > 0
    expected = pd.read_parquet(local.outputs["results"])
    actual = pd.read_parquet(on_ray.outputs["results"])
    assert len(actual) == len(expected) > N_DOCS * 0.1
    exact = ["doc_id", "field", "kind", "start", "end", "text", "value", "model"]
    pd.testing.assert_frame_equal(actual[exact], expected[exact])
    assert (actual["confidence"] - expected["confidence"]).abs().max() < 1e-4
    assert (tmp_path / "ray" / "rejects.jsonl").read_text() == (
        tmp_path / "local" / "rejects.jsonl"
    ).read_text()
