"""Seconds per masked-word forward and backward pass, the vocabulary head on every position (the
library's `model(**batch).loss`) against on the masked positions only (`masked_word_loss`),
on the same batches of a task's train texts. Paired, alternating, after one warm-up step each.

Usage: python masked_word_speed.py TASK_DIR [STEPS]
"""

import json
import sys
import time
from pathlib import Path

import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer, DataCollatorForLanguageModeling

from falconer.proxy.adaptation import masked_word_loss, token_pieces
from falconer.proxy.backbones import resolve_backbone

torch.set_num_threads(2)


def timed_step(model, batch, loss_of) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    loss_of(model, batch).backward()
    model.zero_grad()
    return time.perf_counter() - started


def main() -> None:
    task = Path(sys.argv[1])
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    torch.manual_seed(0)
    path = resolve_backbone("default")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForMaskedLM.from_pretrained(path).train()
    texts = [json.loads(line)["text"] for line in (task / "train.jsonl").read_text().splitlines()]
    pieces = token_pieces(texts[: 32 * (steps + 1)], tokenizer, 128)
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    batches = [
        collator([{"input_ids": p} for p in pieces[i : i + 32]]) for i in range(0, len(pieces), 32)
    ]
    full = lambda m, b: m(**b).loss  # noqa: E731
    seconds = {"every position": [], "masked only": []}
    timed_step(model, batches[0], full), timed_step(model, batches[0], masked_word_loss)
    for batch in batches[1 : steps + 1]:
        seconds["every position"].append(timed_step(model, batch, full))
        seconds["masked only"].append(timed_step(model, batch, masked_word_loss))
    print(
        json.dumps(
            {k: round(sum(v) / len(v), 3) for k, v in seconds.items()}
            | {"task": task.name, "steps": steps}
        )
    )


if __name__ == "__main__":
    main()
