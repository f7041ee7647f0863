"""Task-adaptive pre-training (Gururangan et al. 2020): masked-language-model steps on a task's
unlabelled train texts before the proxy's fine-tuning, so the encoder first learns the words
and style of the corpus. all-MiniLM-L6-v2 ships no MLM head; a fresh one learns alone first
(encoder frozen), then encoder and head train together. The encoder is saved as a plain
Hugging Face folder for `falconer bench proxy --backbone FOLDER`.

Usage: python tapt_backbone.py TASK_DIR OUT_FOLDER [EPOCHS] [LEARNING_RATE]
"""

import itertools
import json
import os
import sys
import time
from pathlib import Path

import torch
from transformers import AutoTokenizer, BertForMaskedLM, DataCollatorForLanguageModeling

from falconer.proxy.backbones import resolve_backbone

os.environ["HF_HUB_OFFLINE"] = "1"
torch.set_num_threads(2)
HEAD_ONLY_STEPS = 200
BATCH = 32


def batches(encoded: list[list[int]], collator, generator: torch.Generator):  # type: ignore[no-untyped-def]
    order = torch.randperm(len(encoded), generator=generator).tolist()
    for start in range(0, len(order), BATCH):
        yield collator([{"input_ids": encoded[i]} for i in order[start : start + BATCH]])


def recent_mean(losses: list[float]) -> float:
    return round(sum(losses[-100:]) / len(losses[-100:]), 3)


def main() -> None:
    task, out = Path(sys.argv[1]), Path(sys.argv[2])
    epochs = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 5e-5
    torch.manual_seed(0)
    path = resolve_backbone("default")
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = BertForMaskedLM.from_pretrained(path)
    texts = [json.loads(line)["text"] for line in (task / "train.jsonl").read_text().splitlines()]
    encoded = [tokenizer(t, truncation=True, max_length=128)["input_ids"] for t in texts]
    collator = DataCollatorForLanguageModeling(tokenizer, mlm_probability=0.15)
    generator = torch.Generator().manual_seed(0)
    head = [p for n, p in model.named_parameters() if n.startswith("cls.") and p.requires_grad]
    encoder_params = [p for n, p in model.named_parameters() if n.startswith("bert.")]
    started, losses = time.perf_counter(), []
    # head alone first: a random head's gradients would scramble the encoder
    for p in encoder_params:
        p.requires_grad_(False)
    optimizer = torch.optim.AdamW(head, lr=1e-3)
    model.train()
    endless = itertools.chain.from_iterable(
        batches(encoded, collator, generator) for _ in itertools.count()
    )
    for batch in itertools.islice(endless, HEAD_ONLY_STEPS):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    print("head-only loss", round(loss.item(), 3), flush=True)
    for p in encoder_params:
        p.requires_grad_(True)
    optimizer = torch.optim.AdamW(model.parameters(), lr=rate, weight_decay=0.01)
    total = epochs * ((len(encoded) + BATCH - 1) // BATCH)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / (0.06 * total)) * max(0.0, 1 - s / total)
    )
    for epoch in range(epochs):
        for batch in batches(encoded, collator, generator):
            loss = model(**batch).loss
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            losses.append(loss.item())
        print("epoch", epoch, "loss", recent_mean(losses), flush=True)
    model.bert.save_pretrained(out)
    tokenizer.save_pretrained(out)
    summary = {
        "task": task.name,
        "texts": len(encoded),
        "epochs": epochs,
        "learning_rate": rate,
        "steps": total,
        "seconds": round(time.perf_counter() - started, 1),
        "final_loss": recent_mean(losses),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
