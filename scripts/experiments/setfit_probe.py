"""SetFit-style few-label training as a measurement: contrastive fine-tuning of the backbone's
mean-pooled sentence embedding on pairs of N labelled texts (same label -> cosine 1, different
-> 0), then logistic regression on the tuned embeddings; test accuracy.

Usage: python setfit_probe.py TASK_DIR N [SEEDS] [PAIRS_PER_TEXT] [LR]   (needs scikit-learn)
"""

import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from transformers import AutoModel, AutoTokenizer

from falconer.proxy.backbones import resolve_backbone

os.environ["HF_HUB_OFFLINE"] = "1"
torch.set_num_threads(2)
path = resolve_backbone("default")
tokenizer = AutoTokenizer.from_pretrained(path)


def pooled(model: torch.nn.Module, texts: list[str]) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, truncation=True, max_length=128, return_tensors="pt")
    states = model(**batch).last_hidden_state
    mask = batch["attention_mask"].unsqueeze(-1).float()
    return torch.nn.functional.normalize((states * mask).sum(1) / mask.sum(1), dim=-1)


def embed(model: torch.nn.Module, texts: list[str]) -> np.ndarray:
    model.eval()
    with torch.inference_mode():
        return np.concatenate(
            [pooled(model, texts[i : i + 128]).numpy() for i in range(0, len(texts), 128)]
        )


def pairs(rows: list[dict], per_text: int, rng: random.Random) -> list[tuple[str, str, float]]:
    by_label: dict[bool, list[str]] = {}
    for r in rows:
        by_label.setdefault(r["label"], []).append(r["text"])
    out = []
    for _ in range(per_text):
        for r in rows:
            same = by_label[r["label"]]
            other = by_label[not r["label"]]
            out.append((r["text"], rng.choice(same), 1.0))
            out.append((r["text"], rng.choice(other), 0.0))
    rng.shuffle(out)
    return out


def tune(rows: list[dict], per_text: int, lr: float, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    model = AutoModel.from_pretrained(path)
    model.train()
    data = pairs(rows, per_text, random.Random(seed))
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    steps = (len(data) + 15) // 16
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: max(0.0, 1 - s / steps))
    for i in range(0, len(data), 16):
        chunk = data[i : i + 16]
        a = pooled(model, [c[0] for c in chunk])
        b = pooled(model, [c[1] for c in chunk])
        target = torch.tensor([c[2] for c in chunk])
        loss = torch.nn.functional.mse_loss((a * b).sum(-1), target)
        loss.backward()
        optimizer.step()
        schedule.step()
        optimizer.zero_grad()
    return model


task = Path(sys.argv[1])
n = int(sys.argv[2])
seeds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
per_text = int(sys.argv[4]) if len(sys.argv) > 4 else 20
lr = float(sys.argv[5]) if len(sys.argv) > 5 else 2e-5
train = [json.loads(line) for line in (task / "train.jsonl").read_text().splitlines()]
test = [json.loads(line) for line in (task / "test.jsonl").read_text().splitlines()][:2000]
y_test = np.array([r["label"] for r in test])
results = []
for seed in range(seeds):
    rows = random.Random(seed).sample(train, n)
    started = time.time()
    model = tune(rows, per_text, lr, seed)
    seconds = time.time() - started
    x_train = embed(model, [r["text"] for r in rows])
    x_test = embed(model, [r["text"] for r in test])
    clf = LogisticRegression(C=1.0, max_iter=2000).fit(x_train, [r["label"] for r in rows])
    predicted = clf.predict(x_test)
    accuracy = float((predicted == y_test).mean())
    results.append(accuracy)
    print(
        json.dumps(
            {
                "task": task.name,
                "n": n,
                "seed": seed,
                "pairs_per_text": per_text,
                "lr": lr,
                "accuracy": round(accuracy, 4),
                "f1": round(float(f1_score(y_test, predicted)), 4),
                "tune_seconds": round(seconds, 1),
            }
        ),
        flush=True,
    )
print("mean", round(float(np.mean(results)), 4))
