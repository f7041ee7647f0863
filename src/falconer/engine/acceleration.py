"""Serve the execute stage from ONNX Runtime when it answers as PyTorch does.

PyTorch is the default: on the 2-core AVX2 machine this was measured on, ONNX Runtime fp32
ran an sst2 proxy at the same speed (244 against 251 documents/s) and int8 moved 2% of the
answers. Other CPUs (VNNI for int8, more cores) may differ, so either can be asked for; it is
used only after `Proxy.accelerate` has compared it with PyTorch on the first documents of the
corpus (no labels needed: the check is agreement, not accuracy).
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
from falconer.proxy.runtimes import OnnxRuntime

RUNTIMES = ("torch", "onnx", "onnx-int8")
CHECK_DOCUMENTS = 500  # texts per step both runtimes answer before the switch


def check_runtime(name: str) -> str:
    if name not in RUNTIMES:
        raise InputError(f"unknown runtime {name!r}; use one of {', '.join(RUNTIMES)}")
    return name


def accelerate_for(
    proxy: Proxy,
    plan: Plan,
    corpus: Corpus,
    folder: Path,
    runtime: str,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Switch `proxy` to `runtime` if it agrees with PyTorch on >= 99% of the check texts of
    every step; what happened, for the run report."""
    check_runtime(runtime)
    if runtime == "torch":
        return {"runtime": "torch", "used": True, "agreement": {}, "reason": "asked for"}
    texts = [d.text for d in itertools.islice(corpus.documents(), CHECK_DOCUMENTS)]
    check = {step.instruction: texts for step in plan.steps}
    report = proxy.accelerate(check, folder, int8=runtime == "onnx-int8")
    verdict = "serves the execute stage" if report.used else "refused, PyTorch serves"
    log(f"{runtime} {verdict} ({report.reason} on the first {len(texts)} documents)")
    return asdict(report)


def served_graph(proxy: Proxy) -> tuple[Path, str] | None:
    """The ONNX graph (and runtime name) serving `proxy`, for engines that load it again."""
    runtime = proxy.runtime
    return (runtime.path, runtime.name) if isinstance(runtime, OnnxRuntime) else None
