"""`falconer demo`: the whole loop on the bundled corpus with the embedded LLM, offline.

The demo gives its plan rather than asking the embedded 0.5B model to write one, so it runs
the same way every time (its people step requires persons: the strings the LLM extracts are
type-checked before the proxy learns from them): the LLM annotates a sample for each step,
one proxy learns both steps, the proxy answers for every sentence, and the report says how
far the proxy agrees with LLM labels it never saw, what the LLM cost and how fast each stage
ran.
"""

from __future__ import annotations

from pathlib import Path

from falconer.core.callbacks import Log, Progress
from falconer.engine.corpus import Corpus, bundled_corpus_path
from falconer.engine.mine import MineOptions, Miner
from falconer.engine.report import RunReport
from falconer.plan.schema import Plan

DEMO_PLAN = Plan.parse(
    {
        "steps": [
            {
                "id": "people",
                "op": "get_span",
                "instruction": "Extract the names of people.",
                "span_type": "person",
            },
            {"id": "music", "op": "get_label", "instruction": "Is this sentence about music?"},
        ],
        "fields": {"people": "people", "about_music": "music"},
    }
)


def run_demo(
    output: Path,
    options: MineOptions | None = None,
    log: Log = print,
    progress: Progress | None = None,
) -> RunReport:
    options = options or MineOptions(n_annotate=60)
    corpus = Corpus(bundled_corpus_path())
    return Miner(output, options, log, progress).run(corpus, plan=DEMO_PLAN)
