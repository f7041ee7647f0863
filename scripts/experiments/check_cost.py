"""Where the seconds of a runtime check go: `Proxy.accelerate(..., "onnx-int8")` on a run's
proxy with the first 1,000 documents of a corpus as check texts, each part timed (export,
quantization, the guard's margin fit, the timing of the two fp32 runtimes, the check on the
second half), beside PyTorch fp32 on 500 of the texts. `auto` checks only corpora large
enough to pay this back (`engine/acceleration.py`); the fp32 answers the check computes are
the part the execute stage computes again.

Usage: python check_cost.py RUN_DIR CORPUS.jsonl OUT.json
"""

import functools
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

import falconer.proxy.proxy as proxy_module
from falconer.engine.acceleration import CHECK_DOCUMENTS
from falconer.proxy import Proxy

SECONDS: dict[str, float] = {}


def timed(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            SECONDS[name] = SECONDS.get(name, 0.0) + time.perf_counter() - started

    return wrapper


def main(run_dir: str, corpus: str, out: str) -> None:
    torch.set_num_threads(2)
    for name in ("export_onnx", "quantize_int8"):
        setattr(proxy_module, name, timed(name, getattr(proxy_module, name)))
    for name in ("_int8_margin", "_faster_fp32", "_agreement"):
        setattr(Proxy, name, timed(name, getattr(Proxy, name)))
    plan = json.loads((Path(run_dir) / "plan.json").read_text())
    instruction = plan["steps"][0]["instruction"]
    with Path(corpus).open(encoding="utf-8") as lines:
        texts = [json.loads(line)["text"] for line in lines][:CHECK_DOCUMENTS]
    proxy = Proxy.from_pretrained(Path(run_dir) / "proxy")
    started = time.perf_counter()
    proxy.get_label(texts[:500], instruction)
    SECONDS["torch fp32, 500 texts"] = time.perf_counter() - started
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        report = proxy.accelerate({instruction: texts}, folder, "onnx-int8")
    SECONDS["accelerate in all"] = time.perf_counter() - started
    result = {
        "run": run_dir,
        "check_texts": len(texts),
        "used": report.used,
        "reason": report.reason,
        "seconds": {k: round(v, 2) for k, v in SECONDS.items()},
    }
    Path(out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main(*sys.argv[1:4])
