"""Serve the execute stage from a faster runtime when it answers as PyTorch fp32 does.

PyTorch fp32 runs everywhere and is the reference. On the 2-core machines this was measured on
(AVX512-BF16), bfloat16 ran proxies 1.5-2x as fast keeping >= 99% of the answers, ONNX Runtime
fp32 ran at the same speed, and int8 alone moved 2-14% of the answers; guarded by fp32 near
decisions it kept >= 99% and ran a label proxy at 2.0x, span proxies at 1.2-1.7x. Any of them
can be asked for; it is used only after `Proxy.accelerate` has compared it with PyTorch on the
first documents of the corpus (no labels needed: the check is agreement, not accuracy).

The default, `auto`, asks for bfloat16 where the CPU computes it natively (the one runtime
that sped up label and span proxies alike) and guarded int8 elsewhere, where bfloat16 is
emulated and slower than fp32: on a 2-core AMD EPYC with AVX2 alone, PyTorch fp32 ran the
criticized-laptop plan at 101-106 reviews/s and guarded int8 at 150-193, agreeing on every
answer of the check (results/e2e/criticized-415-active-200-80-60-int8-seed4.json). Where
the check refuses int8, PyTorch fp32 serves.

`auto` checks only a corpus large enough to pay the check back: the check runs both runtimes
over the first documents of every step, and a faster runtime saves a millisecond or two a
document. On that AVX2-only EPYC, guarded int8 saved 1.1 ms a review over 4,872 sst2 reviews
(171 -> 202-224 docs/s) after 17-19 s of export and check, and 2.4 ms a sentence over the
1,696 of the demo's two-step plan (71 -> 86 docs/s) after 33 s: it paid back from about
15,000-17,000 and 14,000 documents, and made those runs 1.3-2.1x slower in all
(`PAYBACK_DOCUMENTS`).
"""

from __future__ import annotations

import itertools
from dataclasses import asdict
from pathlib import Path
from typing import Any

from falconer.core.callbacks import Log
from falconer.core.errors import InputError
from falconer.engine.corpus import Corpus
from falconer.plan.schema import Plan
from falconer.proxy import Proxy
from falconer.proxy.runtimes import RUNTIMES, RuntimeSpec, native_bfloat16

# texts per step both runtimes answer before the switch; guarded int8 fits its margin on the
# first half: fitted on 250 texts it passed the check on 8-10 of 10 random halvings for three
# proxies and left as little as 0.9897 agreement on a test split; on 500, 10 of 10 and >= 0.997
# (results/proxy/int8-margin-fit-*.json, int8-margin-fit-1000-*.json)
CHECK_DOCUMENTS = 1000
# the smallest corpus `auto` checks a faster runtime for (see above); smaller ones run on fp32
PAYBACK_DOCUMENTS = 20_000
AUTO = "auto"
RUNTIME_CHOICES = (AUTO, *RUNTIMES)


def check_runtime(name: str) -> str:
    if name not in RUNTIME_CHOICES:
        raise InputError(f"unknown runtime {name!r}; use one of {', '.join(RUNTIME_CHOICES)}")
    return name


def resolve_runtime(name: str) -> str:
    """The runtime `auto` stands for on this CPU; any other name is itself."""
    if name != AUTO:
        return name
    return "bf16" if native_bfloat16() else "onnx-int8"


def accelerate_for(
    proxy: Proxy,
    plan: Plan,
    corpus: Corpus,
    folder: Path,
    runtime: str,
    log: Log = print,
) -> dict[str, Any]:
    """Switch `proxy` to `runtime` if it agrees with PyTorch on >= 99% of the check texts of
    every step; what happened, for the run report (`asked` keeps an `auto` visible; `checked`
    says whether the runtimes were compared). `auto` leaves a corpus of fewer than
    `PAYBACK_DOCUMENTS` documents to PyTorch unchecked."""
    wanted = resolve_runtime(check_runtime(runtime))
    if wanted == "torch":
        return torch_as_asked()
    if runtime == AUTO:
        size = sum(1 for _ in itertools.islice(corpus.documents(), PAYBACK_DOCUMENTS))
        if size < PAYBACK_DOCUMENTS:
            unchecked = too_few_to_check(size)
            log(f"PyTorch fp32 serves the execute stage ({unchecked['reason']})")
            return unchecked
    texts = [d.text for d in itertools.islice(corpus.documents(), CHECK_DOCUMENTS)]
    check = {step.instruction: texts for step in plan.steps}
    report = proxy.accelerate(check, folder, wanted)
    verdict = "serves the execute stage" if report.used else "refused, PyTorch serves"
    log(f"{wanted} {verdict} ({report.reason} on the first {len(texts)} documents)")
    return asdict(report) | {"asked": runtime, "checked": True}


def torch_as_asked() -> dict[str, Any]:
    """The runtime report of a run PyTorch fp32 serves unchecked, as asked."""
    return {
        "runtime": "torch",
        "used": True,
        "agreement": {},
        "reason": "asked for",
        "asked": "torch",
        "checked": False,
    }


def too_few_to_check(documents: int) -> dict[str, Any]:
    """The runtime report of an `auto` run whose corpus is too small to check another runtime."""
    reason = (
        f"{documents:,} documents, fewer than the {PAYBACK_DOCUMENTS:,} a check of a faster "
        "runtime pays back"
    )
    return torch_as_asked() | {"reason": reason, "asked": AUTO}


def served_runtime(proxy: Proxy) -> RuntimeSpec:
    """The runtime serving `proxy`, for engines that rebuild it in other processes."""
    return RuntimeSpec.of(proxy.runtime)
