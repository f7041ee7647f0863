"""`--engine ray`: Ray Data in local mode gives the same results file as the local engine."""

from __future__ import annotations

import json
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.engine.acceleration import served_runtime
from falconer.engine.apply import apply_run
from falconer.engine.corpus import Corpus, write_jsonl
from falconer.engine.executor import PlanExecutor
from falconer.engine.ray_engine import ProxyWorker, RayOptions, check_reachable
from falconer.plan.schema import Plan
from falconer.proxy import Proxy
from falconer.proxy.runtimes import GuardedInt8Runtime

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

    # PyTorch fp32 on both: how an actor gets a faster runtime is the next test's
    local = apply_run(run, corpus, tmp_path / "local", runtime="torch", threads=2)
    ray = RayOptions(workers=1, batch_size=256)
    on_ray = apply_run(run, corpus, tmp_path / "ray", ray=ray, runtime="torch")

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


def test_an_actor_serves_the_guarded_int8_runtime_the_driver_checked(
    tmp_path: Path, bench_dir: Path, small_proxy_dir: Path, plan: Plan
) -> None:
    rows = (bench_dir / "tasks" / "sst2-positive" / "test.jsonl").read_text().splitlines()[:40]
    texts = [json.loads(line)["text"] for line in rows]
    driver = Proxy.from_pretrained(small_proxy_dir, threads=1)
    check = {step.instruction: texts for step in plan.steps}
    assert driver.accelerate(check, tmp_path, "onnx-int8", min_agreement=0.0).used

    worker = ProxyWorker(plan.to_json(), str(small_proxy_dir), 1, served_runtime(driver))

    served = worker.executor.answerer.runtime  # type: ignore[attr-defined]
    assert isinstance(served, GuardedInt8Runtime)
    assert served.margins == driver.runtime.margins  # type: ignore[attr-defined]
    assert served.path == driver.runtime.path  # type: ignore[attr-defined]
    batch = pa.table({"seq": range(len(texts)), "id": [f"d{i}" for i in range(40)], "text": texts})
    expected = PlanExecutor(plan, driver).run([Document(f"d{i}", t) for i, t in enumerate(texts)])
    answered = worker(batch).to_pylist()
    assert [(r["doc_id"], r["field"], r["start"], r["value"]) for r in answered] == [
        (r.doc_id, r.field, r.start, r.value) for r in expected.rows
    ]


def test_a_ray_address_where_nothing_listens_is_refused_before_ray_waits_on_it() -> None:
    with socket.socket() as probe:  # a port nothing listens on once the probe is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    for address in (f"127.0.0.1:{port}", f"ray://127.0.0.1:{port}"):
        with pytest.raises(InputError, match=f"cannot join the Ray cluster at {address}: nothing"):
            check_reachable(address, timeout_s=2.0)
    check_reachable("auto")  # left to Ray
