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
from typing import Any

import pandas as pd
import pyarrow as pa

from falconer.core.callbacks import Log, Progress
from falconer.core.errors import InputError
from falconer.core.results import LabelResult, SpanResult
from falconer.engine.apply import apply_run
from falconer.engine.corpus import DEFAULT_MAX_CHARS, Corpus
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.report import RunReport
from falconer.engine.results import read_results
from falconer.plan.schema import Plan
from falconer.proxy import Proxy

_NULLABLE = {pa.int64(): pd.Int64Dtype(), pa.bool_(): pd.BooleanDtype()}


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
    input: str | Path,
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
    fields of `MineOptions` (llm, n_annotate, threads, output_format, ...)."""
    corpus = Corpus(Path(input), text_field, id_field, max_chars)
    if plan is not None and not isinstance(plan, Plan):
        plan = Plan.load(plan)
    miner = Miner(Path(output), MineOptions(**options), log, progress)
    run = miner.run_llm_only if llm_only else miner.run
    return MineResult(run(corpus, instruction, plan))


def apply(
    run_dir: str | Path,
    input: str | Path,
    output: str | Path,
    *,
    text_field: str = "text",
    id_field: str = "id",
    **options: Any,
) -> MineResult:
    """A finished run's plan and proxy over another corpus, with no LLM."""
    corpus = Corpus(Path(input), text_field, id_field)
    return MineResult(apply_run(Path(run_dir), corpus, Path(output), **options))


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
