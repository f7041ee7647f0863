"""`falconer annotate` and `falconer bench annotator`: the annotator from the command line.

The lead registers `app`'s commands in the main CLI. Output files never hold the API key:
specs carry no key (it comes from FALCONER_API_KEY / OPENAI_API_KEY) and errors are redacted.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from falconer.annotator.annotator import Annotator
from falconer.annotator.records import save_run
from falconer.annotator.sampling import SAMPLERS, choose, pool_size
from falconer.cli.options import ID_FIELD, JSON_OUT, LLM, NO_CACHE, SPAN_TYPE, TEXT_FIELD
from falconer.core.errors import FalconerError, InputError
from falconer.core.tasks import KINDS
from falconer.engine.corpus import Corpus, no_documents, sample_documents
from falconer.engine.run_folder import file_in_the_way
from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend

app = typer.Typer(help="Annotate documents with an LLM; measure the annotator against gold.")
console = Console(stderr=True)


def _client(llm: str, no_cache: bool, threads: int, slots: int, timeout: float) -> LLMClient:
    backend = create_backend(llm, threads=threads, slots=slots, timeout_s=timeout)
    cache = None if no_cache else ResponseCache(default_cache_path())
    return LLMClient(backend, cache=cache)


@app.command("annotate")
def annotate(
    corpus: Path = typer.Argument(
        ..., help="JSONL, CSV, Parquet, or a folder of them and of .txt files."
    ),
    instruction: str = typer.Option(..., "--instruction", "-i", help="the question to ask"),
    kind: str = typer.Option("label", help="label (yes/no) or span (extract)"),
    llm: str = LLM,
    n: int = typer.Option(200, min=1, help="documents to annotate"),
    sampler: str = typer.Option("random", help="random | diverse"),
    out: Path = typer.Option(Path("annotations.jsonl"), help="where to write annotations"),
    no_cache: bool = NO_CACHE,
    threads: int = typer.Option(1, help="CPU threads of an embedded LLM"),
    slots: int = typer.Option(2, help="parallel slots of an embedded LLM"),
    timeout: float = typer.Option(60.0, help="request timeout (s) of a network LLM"),
    check_spans: bool = typer.Option(False, help="check each extracted string by yes/no"),
    span_type: str | None = SPAN_TYPE,
    seed: int = typer.Option(0),
    text_field: str = TEXT_FIELD,
    id_field: str = ID_FIELD,
) -> None:
    """Annotate N documents of CORPUS for one instruction and save them with provenance."""
    if kind not in KINDS or sampler not in SAMPLERS:
        raise FalconerError(f"--kind must be one of {KINDS}, --sampler one of {SAMPLERS}")
    _check_out(out)
    source = Corpus(corpus, text_field, id_field)
    # a reservoir of what the sampler needs, so a corpus of millions is never held in memory
    pool = sample_documents(source, pool_size(n, sampler), seed)  # type: ignore[arg-type]
    if not pool:
        raise no_documents(source)
    if n > len(pool):
        console.print(f"note: {corpus} holds {len(pool):,} documents; annotating them all")
    chosen = choose(pool, n, sampler=sampler, seed=seed)  # type: ignore[arg-type]
    client = _client(llm, no_cache, threads, slots, timeout)
    annotator = Annotator(client, verify_spans=check_spans, span_type=span_type)
    run = asyncio.run(annotator.annotate(instruction, kind, chosen))  # type: ignore[arg-type]
    save_run(run, out)
    _print(run.summary())
    done, failed = len(run.annotations), len(run.failures)
    console.print(f"wrote {done} annotations and {failed} failures to {out}")


def _check_out(out: Path) -> None:
    """Before any LLM call: annotations are written only once all are in."""
    if out.is_dir():
        raise InputError(f"--out {out} is a folder: name the JSONL file to write")
    blocking = file_in_the_way(out.parent)
    if blocking is not None:
        raise InputError(f"--out {out}: {blocking} is a file, not a folder")


@app.command("bench-annotator")
def bench_annotator(
    task: Path = typer.Option(..., help="benchmark task folder (task.json, test.jsonl)"),
    llm: str = LLM,
    n: int = typer.Option(200, help="test documents to annotate"),
    json_out: Path | None = JSON_OUT,
    no_cache: bool = NO_CACHE,
    threads: int = typer.Option(1),
    slots: int = typer.Option(2),
    split: str = typer.Option("test", help="test (report) or train (prompt tuning)"),
    check_spans: bool = typer.Option(False, help="check each extracted string by yes/no"),
    span_type: str | None = SPAN_TYPE,
    seed: int = typer.Option(0),
) -> None:
    """The annotator's quality against gold on N documents, with calls, tokens and speed."""
    from falconer.bench.annotator_bench import bench_annotator as run_bench

    result = run_bench(
        task,
        llm,
        n=n,
        split=split,
        seed=seed,
        use_cache=not no_cache,
        threads=threads,
        slots=slots,
        verify_spans=check_spans,
        span_type=span_type,
    )
    _print(result)
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n")


def _print(data: dict[str, Any]) -> None:
    typer.echo(json.dumps(data, indent=2))
