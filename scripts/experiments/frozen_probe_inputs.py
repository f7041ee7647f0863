"""What the frozen backbone's embedding carries for a yes/no task, by how the text is fed:
the text alone, the (instruction, text) pair pooled over all its tokens (what the proxy's
yes/no head reads), and the pair pooled over the text's tokens only. Class-balanced logistic
regression on the same N annotations `falconer bench proxy` draws for each seed; F1 and
accuracy on the test split.

Usage: python frozen_probe_inputs.py TASK_DIR [N]   (needs scikit-learn)
"""

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from transformers import AutoModel, AutoTokenizer

from falconer.bench.tasks import load_task
from falconer.proxy.backbones import resolve_backbone

os.environ["HF_HUB_OFFLINE"] = "1"
torch.set_num_threads(2)
INPUTS = ("text", "pair", "pair-text-tokens")
task = load_task(Path(sys.argv[1]))
n = int(sys.argv[2]) if len(sys.argv) > 2 else 256
path = resolve_backbone("default")
tokenizer = AutoTokenizer.from_pretrained(path)
encoder = AutoModel.from_pretrained(path).eval()


def embed(texts: list[str], how: str) -> np.ndarray:
    out = []
    with torch.inference_mode():
        for i in range(0, len(texts), 64):
            chunk = texts[i : i + 64]
            pair = [task.instruction] * len(chunk) if how != "text" else None
            batch = tokenizer(
                *((pair, chunk) if pair else (chunk,)),
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            states = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"]
            if how == "pair-text-tokens":
                mask = mask * batch["token_type_ids"]
            weights = mask.unsqueeze(-1).float()
            pooled = (states * weights).sum(1) / weights.sum(1)
            out.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(out)


gold = np.array([bool(d.label) for d in task.test])
rows = []
for how in INPUTS:
    test = embed([d.text for d in task.test], how)
    for seed in (0, 1, 2):
        annotated, _ = task.sample(n, seed)
        x = embed([d.text for d in annotated], how)
        y = np.array([bool(d.label) for d in annotated])
        for c in (0.3, 1.0, 3.0, 10.0):
            probe = LogisticRegression(C=c, max_iter=5000, class_weight="balanced").fit(x, y)
            predicted = probe.predict(test)
            row = {
                "input": how,
                "seed": seed,
                "C": c,
                "f1": round(float(f1_score(gold, predicted)), 4),
                "accuracy": round(float((predicted == gold).mean()), 4),
            }
            rows.append(row)
            print(json.dumps(row), flush=True)
print(json.dumps({"task": task.name, "n": n, "rows": rows}))
