"""What the runtime experiments share: a saved proxy and a task loaded quietly on 2 threads,
the proxy's answers to texts under its first instruction, and the documents/second of a
runtime (median of 3 passes, batches of 64, tokenization included, as `falconer bench
inference` times it)."""

import logging
import statistics
import time
from dataclasses import dataclass
from typing import Any

import torch

from falconer.bench.tasks import BenchTask, load_task
from falconer.proxy import Proxy
from falconer.proxy.encoding import Encoded
from falconer.proxy.inference import (
    WindowLogits,
    calibrated,
    labels_from,
    spans_from,
    text_logits,
)
from falconer.proxy.runtimes import Runtime


@dataclass
class ProxyRun:
    proxy: Proxy
    task: BenchTask
    instruction: str
    kind: str

    def logits(self, runtime: Runtime, texts: list[str]) -> tuple[Encoded, WindowLogits]:
        config = self.proxy.config
        return text_logits(runtime, self.proxy.tokenizer, config, self.instruction, texts, 64)

    def answers_from(self, texts: list[str], encoded: Encoded, raw: WindowLogits) -> list[Any]:
        config = self.proxy.config
        predictions = calibrated(raw, config, self.instruction)
        if self.kind == "label":
            return [r.value for r in labels_from(encoded, predictions, config, self.instruction)]
        return [r.spans for r in spans_from(texts, encoded, predictions)]

    def answers(self, runtime: Runtime, texts: list[str]) -> list[Any]:
        return self.answers_from(texts, *self.logits(runtime, texts))

    def docs_per_second(self, runtime: Runtime, texts: list[str]) -> float:
        seconds = []
        for _ in range(3):
            started = time.perf_counter()
            self.logits(runtime, texts)
            seconds.append(time.perf_counter() - started)
        return len(texts) / statistics.median(seconds)


def load(proxy_dir: str, task_dir: str) -> ProxyRun:
    torch.set_num_threads(2)
    logging.getLogger().setLevel(logging.ERROR)
    proxy = Proxy.from_pretrained(proxy_dir, threads=2)
    instruction = proxy.config.instructions[0]
    return ProxyRun(proxy, load_task(task_dir), instruction, proxy.config.kinds[instruction])
