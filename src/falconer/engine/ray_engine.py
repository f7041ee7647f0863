"""The execute stage on Ray Data, for corpora larger than one machine can read in time.

The corpus is first staged as Parquet (through the same readers as the local engine, so bad
rows go to the same rejects file), Ray Data maps batches over an actor pool that loads the
proxy once per actor, and the results come back as Parquet parts merged, in corpus order,
into the same `results.parquet` the local engine writes: the two engines give the same file.
"""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.parquet as pq

from falconer.core.documents import Document
from falconer.core.errors import InputError
from falconer.engine.corpus import Corpus, Reject, no_documents
from falconer.engine.execution import REJECTS_FILE, ExecutionReport
from falconer.engine.executor import PlanExecutor
from falconer.engine.results import KEPT_FIELD, RESULT_SCHEMA, to_arrow
from falconer.engine.sinks import RejectLog
from falconer.plan.schema import Plan

if TYPE_CHECKING:  # the driver need not load torch; the actors do
    from falconer.proxy.runtimes import RuntimeSpec

STAGE_ROWS = 50_000
_ORDER = [("seq", pa.int64()), ("position", pa.int64())]


@dataclass
class RayOptions:
    """`workers` actors of `threads_per_worker` CPUs each: leave the cluster at least one
    CPU more than workers x threads, or the tasks that read the corpus never get to run."""

    address: str | None = None  # None: start Ray locally on this machine
    workers: int = 1
    threads_per_worker: int = 1
    batch_size: int = 256


class ProxyWorker:
    """One Ray actor: loads the proxy once, then answers the plan for each batch it is given."""

    def __init__(
        self,
        plan_json: str,
        proxy_dir: str,
        threads: int,
        runtime: RuntimeSpec | None = None,
    ) -> None:
        from falconer.proxy import Proxy
        from falconer.proxy.runtimes import RuntimeSpec

        proxy = Proxy.from_pretrained(proxy_dir, threads=threads)
        # what the driver checked against PyTorch fp32
        proxy.runtime = (runtime or RuntimeSpec()).build(proxy.model, threads)
        self.executor = PlanExecutor(Plan.from_json(plan_json), proxy)

    def __call__(self, batch: pa.Table) -> pa.Table:
        seqs = batch.column("seq").to_pylist()
        docs = [
            Document(doc_id, text)
            for doc_id, text in zip(
                batch.column("id").to_pylist(), batch.column("text").to_pylist(), strict=True
            )
        ]
        outcome = self.executor.run(docs)
        by_id = {doc.id: seq for doc, seq in zip(docs, seqs, strict=True)}
        table = to_arrow(outcome.rows)
        order = pa.table(
            {
                "seq": pa.array([by_id[row.doc_id] for row in outcome.rows], pa.int64()),
                "position": pa.array(range(len(outcome.rows)), pa.int64()),
            }
        )
        for name in order.column_names:
            table = table.append_column(name, order.column(name))
        return table


def execute_on_ray(
    plan: Plan,
    proxy_dir: Path,
    corpus: Corpus,
    output: Path,
    options: RayOptions,
    runtime: RuntimeSpec | None = None,
) -> ExecutionReport:
    """`runtime`: what every actor serves the proxy from (PyTorch fp32 when None), as
    `served_runtime` gives it; a graph must lie where the actors can read it, as the proxy
    folder must."""
    import ray

    started = time.perf_counter()
    output.mkdir(parents=True, exist_ok=True)
    report = ExecutionReport(str(output / "results.parquet"), "parquet", model="proxy")
    report.rejects = str(output / REJECTS_FILE)
    staged = _stage(corpus, output / "ray-input", RejectLog(output / REJECTS_FILE), report)
    if report.documents == 0:
        raise no_documents(corpus, report.reject_reasons, report.rejects)
    if not ray.is_initialized():
        _join_ray(options.address)
    cpus = float(ray.cluster_resources().get("CPU", 0))  # type: ignore[no-untyped-call]
    if options.workers * options.threads_per_worker >= cpus:
        raise InputError(
            f"{options.workers} Ray workers x {options.threads_per_worker} threads take all "
            f"{cpus:g} CPUs of the cluster, leaving none to read the corpus: use fewer"
        )
    parts = output / "ray-output"
    shutil.rmtree(parts, ignore_errors=True)
    dataset = ray.data.read_parquet(str(staged))
    dataset.map_batches(
        ProxyWorker,
        fn_constructor_args=(
            plan.to_json(),
            str(proxy_dir),
            options.threads_per_worker,
            runtime,
        ),
        batch_size=options.batch_size,
        batch_format="pyarrow",
        concurrency=options.workers,
        num_cpus=options.threads_per_worker,
    ).write_parquet(str(parts))
    _merge(parts, Path(report.results), report)
    report.kept = _kept(plan, Path(report.results), report.documents)
    shutil.rmtree(parts, ignore_errors=True)
    shutil.rmtree(staged, ignore_errors=True)
    report.seconds = time.perf_counter() - started
    return report


def _stage(corpus: Corpus, folder: Path, rejects: RejectLog, report: ExecutionReport) -> Path:
    """The corpus as Parquet parts (seq, id, text); rejects logged as the local engine does."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rejects.restore(0)
    rows: dict[str, list[Any]] = {"seq": [], "id": [], "text": []}
    skipped: list[Reject] = []
    for record in corpus.records():
        report.records += 1
        if isinstance(record, Reject):
            skipped.append(record)
            continue
        rows["seq"].append(report.documents)
        rows["id"].append(record.id)
        rows["text"].append(record.text)
        report.documents += 1
        if len(rows["seq"]) == STAGE_ROWS:
            _write_stage(folder, rows)
    if rows["seq"]:
        _write_stage(folder, rows)
    rejects.append([r.to_dict() for r in skipped])
    report.count_rejects(skipped)
    return folder


def _write_stage(folder: Path, rows: dict[str, list[Any]]) -> None:
    index = len(list(folder.glob("*.parquet")))
    table = pa.table(
        {
            "seq": pa.array(rows["seq"], pa.int64()),
            "id": pa.array(rows["id"], pa.string()),
            "text": pa.array(rows["text"], pa.string()),
        }
    )
    pq.write_table(table, folder / f"{index:06d}.parquet")
    for column in rows.values():
        column.clear()


def _merge(parts: Path, target: Path, report: ExecutionReport) -> None:
    files = sorted(parts.glob("*.parquet"))
    schema = pa.schema(list(RESULT_SCHEMA) + [pa.field(n, t) for n, t in _ORDER])
    tables = [pq.read_table(f, schema=schema) for f in files]
    merged = pa.concat_tables(tables) if tables else schema.empty_table()
    merged = merged.sort_by([("seq", "ascending"), ("position", "ascending")])
    merged = merged.select(RESULT_SCHEMA.names)
    pq.write_table(merged, target)
    report.rows = merged.num_rows


def _kept(plan: Plan, results: Path, documents: int) -> int:
    if plan.filter is None:
        return documents
    table = pq.read_table(results, columns=["field"])
    return sum(1 for name in table.column("field").to_pylist() if name == KEPT_FIELD)


def _join_ray(address: str | None) -> None:
    import ray

    if address is not None:
        check_reachable(address)
    try:
        ray.init(
            address=address,
            include_dashboard=False,
            log_to_driver=False,
            configure_logging=False,
        )
    except ConnectionError as error:
        raise InputError(f"cannot join the Ray cluster at {address}: {error}") from error


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a HOST:PORT (or ray://HOST:PORT) where nothing accepts a connection: Ray itself
    waited minutes on a closed port before giving up. `auto` and names without a port are
    left to Ray."""
    host, separator, port = address.removeprefix("ray://").rpartition(":")
    if not separator or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as error:
        raise InputError(
            f"cannot join the Ray cluster at {address}: nothing accepts a connection there "
            f"({error})"
        ) from error
