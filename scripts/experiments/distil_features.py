"""Does the student learn more from the teacher's representation than from its P(yes) alone?

`bench proxy --distil-from mpnet` teaches MiniLM one number per text (the MPNet teacher's
P(yes)); students stay near 0.84 on sst2 whatever the teacher scores (0.853-0.897). Here the
student also regresses the teacher's mean-pooled pair representation (768 wide, standardised
per dimension) from its own (384 wide, through a linear map learnt alongside), weighted by
WEIGHT against the label loss: one text then says 768 things, not one.

The teacher is fitted as the benchmark fits it and saved under the checkout's runs/ (its
answers are the cached ones of distil_student_steps.py, which it reproduces); the student's
P(yes) targets, steps and schedule are those of the `soft` student there.

Usage: python distil_features.py TASK_DIR SEED OUT.jsonl WEIGHT [WEIGHT ...]
"""

import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from transformers import get_linear_schedule_with_warmup

from falconer.bench.tasks import load_task
from falconer.core.tasks import Example, TaskData
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy.batching import collate
from falconer.proxy.checks import check_answers
from falconer.proxy.encoding import encode
from falconer.proxy.model import mean_pool
from falconer.proxy.runtimes import TorchRuntime
from falconer.proxy.targets import TrainItem, WindowTargets
from falconer.proxy.training import Trainer

RUNS = Path(__file__).resolve().parents[2] / "runs"  # git-ignored: teachers are ~440 MB
task_dir, seed, out = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
weights = [float(w) for w in sys.argv[4:]]
task = load_task(task_dir)
annotated, rest = task.sample(256, seed)
data = task.task_data(annotated)
texts = [d.text for d in rest][:4000]
expected = [d.example() for d in task.test]
teacher_dir = RUNS / f"teacher-mpnet-{task.name}-seed{seed}"
record = json.loads(out.with_name(f"teacher-{task.name}-seed{seed}.json").read_text())
answers = [Example(r["text"], label=r["label"], probability=r["p"]) for r in record["answers"]]
teacher_score = float(record["teacher_score"])


def teacher() -> Proxy:
    if (teacher_dir / "proxy.json").is_file():
        return Proxy.from_pretrained(str(teacher_dir), threads=2)
    fitted = Proxy.from_pretrained("mpnet", threads=2)
    fitted.fit([data], config=TrainConfig(seed=seed, threads=2))
    fitted.save_pretrained(teacher_dir)
    return fitted


def pooled(proxy: Proxy, texts: Sequence[str]) -> np.ndarray:
    """Each text's mean-pooled pair representation (windows averaged)."""
    encoded = encode(
        proxy.tokenizer,
        [task.instruction] * len(texts),
        list(texts),
        proxy.config.max_length,
        proxy.config.stride,
    )
    rows = np.zeros((len(encoded.windows), proxy.model.encoder.config.hidden_size), np.float32)
    proxy.model.eval()
    pad = int(proxy.tokenizer.pad_token_id or 0)
    with torch.inference_mode():
        for start in range(0, len(encoded.windows), 64):
            batch = collate(encoded.windows[start : start + 64], pad)
            states = proxy.model.token_states(**batch.inputs())
            rows[start : start + len(states)] = mean_pool(states, batch.attention_mask).numpy()
    return np.stack([rows[doc.windows].mean(axis=0) for doc in encoded.docs])


class FeatureTrainer(Trainer):
    """The proxy's trainer plus a regression of the teacher's pooled representation."""

    def __init__(
        self, proxy: Proxy, config: TrainConfig, features: dict[str, torch.Tensor], weight: float
    ) -> None:
        super().__init__(proxy.model, proxy.tokenizer, proxy.config, config)
        self.features, self.weight = features, weight
        width = next(iter(features.values())).shape[0]
        self.projection = torch.nn.Linear(proxy.model.encoder.config.hidden_size, width)
        self.items: Sequence[TrainItem] = ()

    def _train(self, items: Sequence[TrainItem], *args: Any, **kwargs: Any) -> None:
        self.items = items
        self.projection.train()
        super()._train(items, *args, **kwargs)

    def _optimizer(self, total: int, n_items: int, kinds: Any, soft: bool) -> Any:
        optimizer, _ = super()._optimizer(total, n_items, kinds, soft)
        optimizer.add_param_group(
            {"params": list(self.projection.parameters()), "lr": self.config.head_learning_rate}
        )
        schedule = get_linear_schedule_with_warmup(
            optimizer, int(total * self.config.warmup_ratio), total
        )
        return optimizer, schedule

    def _loss(self, encoded: Any, targets: WindowTargets, batch: Sequence[int]) -> torch.Tensor:
        windows = [encoded.windows[i] for i in batch]
        inputs = collate(windows, self.tokenizer.pad_token_id)
        states = self.model.token_states(**inputs.inputs())
        pool = mean_pool(states, inputs.attention_mask)
        logits = self.model.label_head(self.model.dropout(pool)).squeeze(-1)
        label_targets = targets.labels[batch]
        has_label = ~torch.isnan(label_targets)
        per_item = F.binary_cross_entropy_with_logits(
            logits[has_label], label_targets[has_label], reduction="none"
        )
        w = targets.weights[batch][has_label] * targets.label_balance[batch][has_label]
        loss = (per_item * w).sum() / w.sum()
        known = [
            (row, self.features.get(self.items[win.doc].text)) for row, win in enumerate(windows)
        ]
        known = [(row, f) for row, f in known if f is not None]
        if known and self.weight > 0:
            rows = torch.tensor([row for row, _ in known])
            goal = torch.stack([f for _, f in known])
            loss = loss + self.weight * F.mse_loss(self.projection(pool[rows]), goal)
        return loss


started = time.perf_counter()
mentor = teacher()
every = [e.text for e in data.examples] + texts
table = pooled(mentor, every)
table = (table - table.mean(axis=0)) / (table.std(axis=0) + 1e-6)
features = {text: torch.from_numpy(row) for text, row in zip(every, table, strict=True)}
print(
    f"teacher {teacher_score:.4f}, features {table.shape} in {time.perf_counter() - started:.0f} s",
    flush=True,
)
probe = answers[:64]
again = mentor.get_label([e.text for e in probe], task.instruction)
drift = max(abs(r.probability - e.probability) for r, e in zip(again, probe, strict=True))  # type: ignore[operator]
print(f"teacher refit against its cached answers: max |P(yes) difference| {drift:.4f}", flush=True)
del mentor

for weight in weights:
    started = time.perf_counter()
    student = Proxy.from_pretrained("default", threads=2)
    lesson = TaskData(data.instruction, data.kind, [*data.examples, *answers])
    config = TrainConfig(seed=seed, threads=2, min_steps=852)
    student.runtime = TorchRuntime(student.model)
    report = FeatureTrainer(student, config, features, weight).fit([lesson])
    student.config.instructions.append(task.instruction)
    student.config.kinds[task.instruction] = task.kind
    score = check_answers(student, task.instruction, task.kind, expected).score(task.metric)
    row = {
        "task": task.name,
        "seed": seed,
        "feature_weight": weight,
        "steps": report.steps,
        "best_step": report.best_step,
        "score": round(score, 4),
        "teacher_score": round(teacher_score, 4),
        "train_seconds": round(time.perf_counter() - started, 1),
        "history": report.history,
    }
    print(json.dumps(row), flush=True)
    with out.open("a") as sink:
        sink.write(json.dumps(row) + "\n")
