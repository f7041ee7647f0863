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
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

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
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Switch `proxy` to `runtime` if it agrees with PyTorch on >= 99% of the check texts of
    every step; what happened, for the run report (`asked` keeps an `auto` visible)."""
    wanted = resolve_runtime(check_runtime(runtime))
    if wanted == "torch":
        return torch_as_asked()
    texts = [d.text for d in itertools.islice(corpus.documents(), CHECK_DOCUMENTS)]
    check = {step.instruction: texts for step in plan.steps}
    report = proxy.accelerate(check, folder, wanted)
    verdict = "serves the execute stage" if report.used else "refused, PyTorch serves"
    log(f"{wanted} {verdict} ({report.reason} on the first {len(texts)} documents)")
    return asdict(report) | {"asked": runtime}


def torch_as_asked() -> dict[str, Any]:
    """The runtime report of a run PyTorch fp32 serves unchecked, as asked."""
    return {
        "runtime": "torch",
        "used": True,
        "agreement": {},
        "reason": "asked for",
        "asked": "torch",
    }


def served_runtime(proxy: Proxy) -> RuntimeSpec:
    """The runtime serving `proxy`, for engines that rebuild it in other processes."""
    return RuntimeSpec.of(proxy.runtime)
