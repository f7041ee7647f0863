"""How much of a label task the backbone's frozen sentence embedding carries: mean-pooled,
normalised all-MiniLM-L6-v2 embeddings of the texts alone, logistic regression on N train
texts (3 random draws; 1 for the whole pool), accuracy and F1 on the test split.

Usage: python frozen_probe.py TASK_DIR [N_TRAIN_POOL]   (needs scikit-learn)
"""

import json
import os
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
model = AutoModel.from_pretrained(path).eval()


def embed(texts: list[str]) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            batch = tokenizer(
                texts[i : i + 64],
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            states = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (states * mask).sum(1) / mask.sum(1)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


task = Path(sys.argv[1])
pool_size = int(sys.argv[2]) if len(sys.argv) > 2 else 4000
train = [json.loads(line) for line in (task / "train.jsonl").read_text().splitlines()][:pool_size]
test = [json.loads(line) for line in (task / "test.jsonl").read_text().splitlines()][:2000]
started = time.time()
x_train, x_test = embed([r["text"] for r in train]), embed([r["text"] for r in test])
print("embedding seconds", round(time.time() - started, 1))
y_train = np.array([r["label"] for r in train])
y_test = np.array([r["label"] for r in test])
rng = np.random.default_rng(0)
for n in [256, 1024, len(train)]:
    scores = []
    for _ in range(3 if n < len(train) else 1):
        idx = rng.choice(len(train), n, replace=False)
        for c in [1.0, 10.0]:
            clf = LogisticRegression(C=c, max_iter=2000).fit(x_train[idx], y_train[idx])
            predicted = clf.predict(x_test)
            scores.append((c, (predicted == y_test).mean(), f1_score(y_test, predicted)))
    for c in [1.0, 10.0]:
        mine = [s for s in scores if s[0] == c]
        accuracy = np.mean([s[1] for s in mine])
        f1 = np.mean([s[2] for s in mine])
        print(
            task.name, n, "C", c, "accuracy", round(float(accuracy), 3), "f1", round(float(f1), 3)
        )
