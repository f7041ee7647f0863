"""The Python API, mirroring the CLI: `mine`, `apply`, and the primitives themselves.

import falconer
result = falconer.mine("Extract the names of people.", "corpus.jsonl", "run")
frame = result.to_pandas()
falconer.get_label(["Great film!"], "Is this movie review positive?", proxy="run/proxy")
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from falconer.core.callbacks import Log, Progress
from falconer.core.errors import InputError
from falconer.core.results import LabelResult, SpanResult
from falconer.engine.apply import apply_run
from falconer.engine.corpus import DEFAULT_MAX_CHARS, Corpus
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.report import RunReport
from falconer.engine.results import read_results
from falconer.engine.run_folder import locked_run_folder
from falconer.plan.schema import Plan
from falconer.proxy import Proxy

_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}
INPUT_FILE = "input.parquet"  # a DataFrame or list of texts given to `mine` / `apply`, as read
# a corpus file or folder, a DataFrame with the text (and id) column, or the texts themselves
CorpusInput: TypeAlias = str | Path | pd.DataFrame | Sequence[str]


@dataclass
class MineResult:
    """A finished run: its report, and its results and proxy on demand."""

    report: RunReport

    @property
    def results_path(self) -> Path:
        return Path(self.report.outputs["results"])

    def to_arrow(self) -> pa.Table:
        return read_results(self.results_path)

    def to_pandas(self) -> pd.DataFrame:
        """One row per answer (see `falconer.engine.results`), offsets as nullable integers."""
        return self.to_arrow().to_pandas(types_mapper=_NULLABLE.get)

    @functools.cached_property
    def proxy(self) -> Proxy:
        return Proxy.from_pretrained(self.report.outputs["proxy"])


def mine(
    instruction: str | None,
    input: CorpusInput,
    output: str | Path = "falconer-run",
    *,
    plan: Plan | str | Path | None = None,
    llm_only: bool = False,
    text_field: str = "text",
    id_field: str = "id",
    max_chars: int = DEFAULT_MAX_CHARS,
    log: Log = print,
    progress: Progress | None = None,
    **options: Any,
) -> MineResult:
    """Plan, annotate, train and execute (see `falconer mine --help`); `options` are the
    fields of `MineOptions` (llm, n_annotate, threads, output_format, ...). `input` is a
    corpus path, a DataFrame or a list of texts (see `corpus_of`)."""
    corpus = corpus_of(input, Path(output), text_field, id_field, max_chars)
    if plan is not None and not isinstance(plan, Plan):
        plan = Plan.load(plan)
    miner = Miner(Path(output), MineOptions(**options), log, progress)
    run = miner.run_llm_only if llm_only else miner.run
    return MineResult(run(corpus, instruction, plan))


def apply(
    run_dir: str | Path,
    input: CorpusInput,
    output: str | Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    **options: Any,
) -> MineResult:
    """A finished run's plan and proxy over another corpus, with no LLM; `input` as in `mine`."""
    corpus = corpus_of(input, Path(output), text_field, id_field)
    return MineResult(apply_run(Path(run_dir), corpus, Path(output), **options))


def corpus_of(
    input: CorpusInput,
    output: Path,
    text_field: str = "text",
    id_field: str = "id",
    max_chars: int = DEFAULT_MAX_CHARS,
) -> Corpus:
    """A path is read where it lies. A DataFrame (its `text_field` column, and `id_field` if it
    has one, else its index as ids) or a list of texts (ids 0, 1, ...) is saved into the run
    folder as `input.parquet` first, since every stage streams the corpus from disk; it is
    rewritten only when it changed, so the same call after a crash resumes."""
    if isinstance(input, (str, Path)):
        return Corpus(Path(input), text_field, id_field, max_chars)
    table = _input_table(input, text_field, id_field)
    path = output / INPUT_FILE
    if not (path.is_file() and pq.read_table(path).equals(table)):
        with locked_run_folder(output, corpus=path):  # not under a run still reading it
            pq.write_table(table, path)
    return Corpus(path, text_field, id_field, max_chars)


def _input_table(input: pd.DataFrame | Sequence[str], text_field: str, id_field: str) -> pa.Table:
    if isinstance(input, pd.DataFrame):
        if text_field not in input.columns:
            columns = ", ".join(map(str, list(input.columns)[:10]))
            raise InputError(f"the DataFrame has no {text_field!r} column (columns: {columns})")
        ids = input[id_field] if id_field in input.columns else input.index.to_series()
        texts = list(input[text_field])
    else:
        texts, ids = list(input), pd.Series(range(len(input)))
    # texts as given (a None or a number becomes a reject with its row, as in a file)
    text_column = pa.array([t if isinstance(t, str) else None for t in texts], pa.string())
    id_column = pa.array([None if pd.isna(i) else str(i) for i in ids], pa.string())
    return pa.table({text_field: text_column, id_field: id_column})


@functools.lru_cache(maxsize=4)
def _proxy(path: str) -> Proxy:
    if not Proxy.is_saved(path):
        raise InputError(
            f"{path} is not a trained proxy folder (no proxy.json): pass a run's proxy/ "
            "folder or a Proxy"
        )
    return Proxy.from_pretrained(path)


def _resolve(proxy: str | Path | Proxy) -> Proxy:
    return proxy if isinstance(proxy, Proxy) else _proxy(str(proxy))


def get_label(
    texts: Sequence[str], instruction: str, proxy: str | Path | Proxy
) -> list[LabelResult]:
    """Does each text satisfy the instruction? Answered by a trained proxy (folder or object)."""
    return _resolve(proxy).get_label(texts, instruction)


def get_span(texts: Sequence[str], instruction: str, proxy: str | Path | Proxy) -> list[SpanResult]:
    """The parts of each text the instruction asks for, as character offsets."""
    return _resolve(proxy).get_span(texts, instruction)
