"""Multi-task fine-tuning of the proxy on annotated examples of any number of instructions.

What gets the most out of a few hundred labels (measured in the benchmarks): enough optimizer
steps whatever the data size, a higher learning rate for small span or soft-label sets, model
selection on a held-out slice of the annotations that allows for that slice's noise, negatives
that pair a text with another task's instruction and say only what is known about it (so the
proxy follows the instruction, not the kind of text), and self-training on confident
predictions over the unlabelled rest of the corpus.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812
from transformers import get_linear_schedule_with_warmup

from falconer.core.callbacks import Progress
from falconer.core.metrics import score_labels, score_spans
from falconer.core.tasks import Example, Kind, TaskData
from falconer.proxy.augment import replace_mentions
from falconer.proxy.batching import collate, tag_targets
from falconer.proxy.calibration import fit_label_offset, fit_temperature
from falconer.proxy.config import ProxyConfig, TrainConfig
from falconer.proxy.contrastive import label_pairs, warm_up
from falconer.proxy.encoding import Encoded, encode
from falconer.proxy.inference import WindowPredictions, labels_from, predict_texts, spans_from
from falconer.proxy.model import ProxyModel
from falconer.proxy.selection import CheckpointSelection
from falconer.proxy.targets import (
    TrainItem,
    WindowTargets,
    ruled_out,
    soft_stretches,
    soft_targets,
    train_items,
    window_targets,
)


@dataclass(slots=True)
class TrainReport:
    """What one `fit` did, for run reports and benchmarks."""

    steps: int = 0
    seconds: float = 0.0
    n_train: int = 0
    n_dev: int = 0
    n_augmented: int = 0
    n_negatives: int = 0
    n_pseudo: int = 0
    contrastive_steps: int = 0
    best_step: int = 0
    dev_score: float = float("nan")
    dev_scores: dict[str, float] = field(default_factory=dict)
    history: list[tuple[int, float]] = field(default_factory=list)
    temperatures: dict[str, float] = field(default_factory=dict)
    label_offsets: dict[str, float] = field(default_factory=dict)
    learning_rate: float | None = None  # the encoder's (the config's, else the default)
    config: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__slots__}


@dataclass(slots=True)
class _Split:
    task: TaskData
    train: list[Example]
    dev: list[Example]


SMALL_ENCODER_WIDTH = 384  # all-MiniLM-L6-v2, on which the rates below were measured
WIDE_ENCODER_SPAN_RATE = 5e-5
FEW_EXAMPLES_RATE = 2e-4  # the highest default rate (see default_learning_rate)


def default_learning_rate(
    n_examples: int,
    kinds: Collection[Kind],
    soft: bool = False,
    hidden_size: int = SMALL_ENCODER_WIDTH,
) -> float:
    """Few examples need bigger steps to move a small encoder within few updates: span tags
    (2e-4 lifted laptop-aspects and conll-persons) and soft yes/no targets, whose gradients
    are smaller (sst2, 75 LLM P(yes) targets: agreement with the LLM 0.763 at 2e-4, 0.740 at
    1e-4). Hard yes/no targets overfit at 2e-4 (sst2, 256 gold labels: 0.758 at 2e-4, 0.781
    at 1e-4; results/proxy/lr-sweep-sst2.json, training-curves-sst2.json, soft-labels-sst2*).
    A wider encoder's span tags collapse at such rates (MPNet, 768 wide, conll-persons: exact
    F1 0.000 at 2e-4, 0.932 at 5e-5; its yes/no fits do well at 1e-4: sst2 0.880)."""
    hard_labels = set(kinds) == {"label"} and not soft
    rate = 1e-4 if n_examples > 600 or hard_labels else FEW_EXAMPLES_RATE
    if hidden_size > SMALL_ENCODER_WIDTH and "span" in kinds:
        return min(rate, WIDE_ENCODER_SPAN_RATE)
    return rate


def plan_steps(n_windows: int, n_tasks: int, config: TrainConfig) -> int:
    """At least `min_steps` per task: one model for five instructions gets the updates five
    single-task models would (measured: with 300 steps shared by five tasks, each lost 3-10
    points against its single-task model)."""
    steps_per_epoch = math.ceil(n_windows / config.batch_size)
    steps = max(config.min_steps * max(n_tasks, 1), 4 * steps_per_epoch)
    if config.max_epochs is not None:
        steps = min(steps, config.max_epochs * steps_per_epoch)
    return max(steps, 1)


class Trainer:
    """Fits a `ProxyModel` in place; keeps the state the held-out annotations choose
    (`CheckpointSelection`)."""

    def __init__(
        self,
        model: ProxyModel,
        tokenizer: Any,
        proxy_config: ProxyConfig,
        config: TrainConfig,
        progress: Progress | None = None,
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.proxy_config = proxy_config
        self.config = config
        self.progress = progress
        self.rng = random.Random(config.seed)
        self._last_scores: dict[str, float] = {}

    def fit(
        self, tasks: Sequence[TaskData], unlabeled: Mapping[str, Sequence[str]] | None = None
    ) -> TrainReport:
        started = time.perf_counter()
        torch.manual_seed(self.config.seed)
        splits = [self._split(task) for task in tasks]
        for split in splits:  # confidences stay uncalibrated until the end of this fit
            self.proxy_config.temperatures.pop(split.task.instruction, None)
            self.proxy_config.label_offsets.pop(split.task.instruction, None)
            self.proxy_config.label_thresholds.pop(split.task.instruction, None)
            self.proxy_config.target_stretches.pop(split.task.instruction, None)
        items = [item for split in splits for item in train_items(split.task, split.train, 1.0)]
        augmented = self._augment(splits)
        negatives = self._cross_negatives(splits)
        report = TrainReport(
            n_train=len(items),
            n_augmented=len(augmented),
            n_dev=sum(len(s.dev) for s in splits),
            n_negatives=len(negatives),
            config=self.config.to_dict(),
        )
        items += augmented
        report.contrastive_steps = self._warm_up(splits)
        self._train(items + negatives, splits, report, started)
        for _ in range(self.config.self_training_rounds if unlabeled else 0):
            pseudo = self._pseudo_label(splits, unlabeled or {})
            report.n_pseudo = len(pseudo)
            if not pseudo:
                break
            steps = self.config.min_steps * len(splits)
            self._train(items + negatives + pseudo, splits, report, started, steps)
        self._calibrate(splits, report, unlabeled or {})
        report.seconds = time.perf_counter() - started
        return report

    def _warm_up(self, splits: Sequence[_Split]) -> int:
        """Contrastive pairs of every label step's training examples (never its held-out
        slice), fitted before the supervised steps; at most twice their `min_steps` of
        batches, so small fits stay small."""
        per_text = self.config.contrastive_pairs
        label_splits = [split for split in splits if split.task.kind == "label"]
        if per_text <= 0 or not label_splits:
            return 0
        pairs = [
            pair
            for split in label_splits
            for pair in label_pairs(
                self.tokenizer,
                split.task.instruction,
                split.train,
                self.proxy_config,
                per_text,
                self.rng,
            )
        ]
        self.rng.shuffle(pairs)
        size = self.config.batch_size
        del pairs[2 * self.config.min_steps * len(label_splits) * size :]
        self._freeze_embeddings()
        rate = self.config.contrastive_learning_rate
        return warm_up(self.model, pairs, self.tokenizer.pad_token_id, rate, size, self.progress)

    def _freeze_embeddings(self) -> None:
        embeddings = self.model.word_embeddings()
        if embeddings is not None:
            embeddings.requires_grad_(not self.config.freeze_embeddings)

    def _calibrate(
        self, splits: Sequence[_Split], report: TrainReport, unlabeled: Mapping[str, Sequence[str]]
    ) -> None:
        """Temperature per instruction on the same held-out slice that chose the model; before
        it, a soft-target label step's decisions are re-centred on the annotator's yes-rate
        (over unannotated texts of the corpus where given and `offset_on_unlabeled`)."""
        for split in splits:
            task, config = split.task, self.proxy_config
            if task.kind == "label" and self._recentres(split):
                on_unlabeled = self.config.offset_on_unlabeled
                pool = unlabeled.get(task.instruction, ()) if on_unlabeled else ()
                offset = fit_label_offset(
                    self.model,
                    self.tokenizer,
                    config,
                    task.instruction,
                    split.train + split.dev,
                    pool,
                )
                self.proxy_config.label_offsets[task.instruction] = offset
                report.label_offsets[task.instruction] = offset
            temperature = fit_temperature(
                self.model,
                self.tokenizer,
                config,
                task.instruction,
                task.kind,
                self._evidence(split),
            )
            self.proxy_config.temperatures[task.instruction] = temperature
            report.temperatures[task.instruction] = temperature

    def _evidence(self, split: _Split) -> list[Example]:
        """The held-out examples a temperature is fitted on: the annotator's alone, unless
        `calibrate_on_annotations` is off. A student agrees with its teacher's answers more
        surely than with the truth, and they are most of a drawn slice."""
        if not self.config.calibrate_on_annotations:
            return split.dev
        return [e for e in split.dev if not e.taught]

    def _recentres(self, split: _Split) -> bool:
        examples = split.train + split.dev
        return self.config.soft_label_offset and soft_targets(self.config, examples)

    def _split(self, task: TaskData) -> _Split:
        if task.dev:
            return _Split(task, list(task.examples), list(task.dev))
        examples = list(task.examples)
        self.rng.shuffle(examples)
        n_dev = round(len(examples) * self.config.dev_fraction)
        if len(examples) - n_dev < 4 or n_dev < 4:
            return _Split(task, examples, [])
        if task.kind == "label":
            positives = [e for e in examples if e.label]
            negatives = [e for e in examples if not e.label]
            n_pos = min(len(positives), max(1, round(n_dev * len(positives) / len(examples))))
            dev = positives[:n_pos] + negatives[: n_dev - n_pos]
            dev_ids = {id(e) for e in dev}
            return _Split(task, [e for e in examples if id(e) not in dev_ids], dev)
        return _Split(task, examples[n_dev:], examples[:n_dev])

    def _augment(self, splits: Sequence[_Split]) -> list[TrainItem]:
        copies = self.config.mention_replacement
        return [
            item
            for split in splits
            if split.task.kind == "span"
            for item in train_items(
                split.task, replace_mentions(split.train, copies, self.rng), 0.7
            )
        ]

    def _cross_negatives(self, splits: Sequence[_Split]) -> list[TrainItem]:
        """Pair texts with another instruction they were not annotated for, saying only what
        is known. A yes/no question gets no (a laptop review is no movie review). A span
        instruction learns only that the text's own task's answers are not its answers: the
        laptop aspects of a review are no people. Everything else in the text is unknown:
        negatives with every word "no answer" taught the multitask proxy that the people in
        news and film reviews are no people (conll-persons exact F1 0.767 against 0.796 for
        the single-task proxy, seed 0; 0.817 since). A text with answers is paired with every
        other span instruction (such a pair is never wrong); each text with one other
        instruction drawn at random, which, if it is a yes/no question, makes a no."""
        instructions = sorted({s.task.instruction for s in splits})
        if len(instructions) < 2 or self.config.cross_negatives <= 0:
            return []
        annotated: dict[str, set[str]] = {}
        kinds: dict[str, Kind] = {}
        for split in splits:
            annotated.setdefault(split.task.instruction, set()).update(
                e.text for e in [*split.train, *split.dev]
            )
            kinds[split.task.instruction] = split.task.kind
        negatives = []
        weight = self.config.cross_negative_weight
        for split in splits:
            others = [i for i in instructions if i != split.task.instruction]
            for example in split.train:
                if self.rng.random() >= self.config.cross_negatives:
                    continue
                other = self.rng.choice(others)
                if kinds[other] == "label" and example.text not in annotated[other]:
                    negatives.append(TrainItem(other, "label", example.text, False, None, weight))
                if example.spans:
                    negatives += [
                        ruled_out(step, example, weight)
                        for step in others
                        if kinds[step] == "span" and example.text not in annotated[step]
                    ]
        return negatives

    def _train(
        self,
        items: Sequence[TrainItem],
        splits: Sequence[_Split],
        report: TrainReport,
        started: float,
        steps: int | None = None,
    ) -> None:
        encoded = encode(
            self.tokenizer,
            [i.instruction for i in items],
            [i.text for i in items],
            self.proxy_config.max_length,
            self.proxy_config.stride,
        )
        targets = window_targets(
            items,
            encoded,
            self.config.label_smoothing,
            self.config.soft_labels,
            self.config.soft_label_spread,
        )
        total = steps or plan_steps(len(encoded.windows), len(splits), self.config)
        soft = soft_targets(self.config, items)
        if soft:
            self.proxy_config.target_stretches.update(soft_stretches(items, targets.stretch))
        kinds = {split.task.kind for split in splits}
        report.learning_rate = self._learning_rate(len(items), kinds, soft)
        optimizer, scheduler = self._optimizer(total, report.learning_rate)
        eval_every = self.config.eval_every or max(total // 6, 25)
        selection = CheckpointSelection(
            self.config.selection_slack, _dev_sizes(splits), _dev_positives(splits)
        )
        if report.steps:
            selection.consider(self._evaluate(splits, report, report.steps), self._last_scores)
            best_state = _snapshot(self.model)
        else:
            best_state = None
        self.model.train()
        for step, batch in enumerate(self._batches(encoded, total), start=1):
            loss = self._loss(encoded, targets, batch)
            loss.backward()  # type: ignore[no-untyped-call]
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            report.steps += 1
            if self.progress:
                self.progress("train", step, total)
            out_of_time = self._out_of_time(started)
            if (step % eval_every == 0 and 2 * step >= total) or step == total or out_of_time:
                score = self._evaluate(splits, report, report.steps)
                if selection.consider(score, self._last_scores) or best_state is None:
                    best_state = _snapshot(self.model)
                    report.best_step, report.dev_score = report.steps, score
                    report.dev_scores = dict(self._last_scores)
            if out_of_time:
                break
        if best_state is not None:
            self.model.load_state_dict(best_state)
        self.model.eval()

    def _out_of_time(self, started: float) -> bool:
        limit = self.config.max_seconds
        return limit is not None and time.perf_counter() - started > limit

    def _learning_rate(self, n_items: int, kinds: Collection[Kind], soft: bool) -> float:
        width = int(self.model.encoder.config.hidden_size)
        return self.config.learning_rate or default_learning_rate(n_items, kinds, soft, width)

    def _optimizer(
        self, total: int, lr: float
    ) -> tuple[torch.optim.Optimizer, torch.optim.lr_scheduler.LambdaLR]:
        self._freeze_embeddings()
        encoder = [p for p in self.model.encoder_parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(
            [
                {"params": encoder, "lr": lr},
                {"params": self.model.head_parameters(), "lr": self.config.head_learning_rate},
            ],
            weight_decay=self.config.weight_decay,
            foreach=True,
        )
        warmup = int(total * self.config.warmup_ratio)
        schedule = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
            optimizer, warmup, total
        )
        return optimizer, schedule

    def _batches(self, encoded: Encoded, total: int) -> Any:
        """Random batches of similar length: shuffle, sort within chunks, shuffle the batches."""
        size = self.config.batch_size
        produced = 0
        while True:
            order = list(range(len(encoded.windows)))
            self.rng.shuffle(order)
            batches: list[list[int]] = []
            for start in range(0, len(order), size * 32):
                chunk = sorted(
                    order[start : start + size * 32],
                    key=lambda i: len(encoded.windows[i].input_ids),
                )
                batches.extend(chunk[i : i + size] for i in range(0, len(chunk), size))
            self.rng.shuffle(batches)
            for batch in batches:
                yield batch
                produced += 1
                if produced >= total:
                    return

    def _loss(self, encoded: Encoded, targets: WindowTargets, batch: Sequence[int]) -> torch.Tensor:
        """The mean yes/no loss of the batch's label windows plus the mean tag loss of its
        tagged tokens: each kind keeps its scale whatever the mix (counting every window once
        instead cost multitask sst2 1.4 points, window_mean_loss.py)."""
        losses = self._losses(encoded, targets, batch)
        loss = torch.zeros(())
        if losses.has_label.any():
            w = losses.label_weights[losses.has_label]
            loss = loss + (losses.label[losses.has_label] * w).sum() / w.sum()
        if losses.tagged.any():
            w = losses.window_weights[:, None].expand_as(losses.tags)[losses.tagged]
            loss = loss + (losses.tags[losses.tagged] * w).sum() / w.sum()
        return loss

    def _losses(
        self, encoded: Encoded, targets: WindowTargets, batch: Sequence[int]
    ) -> _BatchLosses:
        """Unreduced losses of one batch: per window for yes/no targets, per token for tags."""
        windows = [encoded.windows[i] for i in batch]
        inputs = collate(windows, self.tokenizer.pad_token_id)
        output = self.model(**inputs.inputs())
        label_targets = targets.labels[batch]
        has_label = ~torch.isnan(label_targets)
        label = F.binary_cross_entropy_with_logits(
            output.label_logits, torch.nan_to_num(label_targets), reduction="none"
        )
        tags = tag_targets(
            windows, [targets.tags[w.doc] for w in windows], inputs.input_ids.shape[1]
        )
        positive = self.config.span_positive_weight
        per_token = F.cross_entropy(
            output.tag_logits.transpose(1, 2),
            tags,
            weight=torch.tensor([1.0, positive, positive]),
            ignore_index=-100,
            reduction="none",
        )
        weights = targets.weights[batch]
        return _BatchLosses(
            label=label,
            has_label=has_label,
            label_weights=weights * targets.label_balance[batch],
            tags=per_token,
            tagged=tags != -100,
            window_weights=weights,
        )

    def _evaluate(self, splits: Sequence[_Split], report: TrainReport, step: int) -> float:
        """Mean held-out score over tasks: F1 for spans, mean of accuracy and F1 for labels."""
        scores: dict[str, float] = {}
        for split in splits:
            if not split.dev:
                continue
            scores[split.task.instruction] = self._score(split.task, split.dev)
        self._last_scores = scores
        score = float(np.mean(list(scores.values()))) if scores else float(step)
        report.history.append((step, score))
        return score

    def _predict(self, instruction: str, texts: Sequence[str]) -> tuple[Encoded, WindowPredictions]:
        return predict_texts(self.model, self.tokenizer, self.proxy_config, instruction, texts)

    def _score(self, task: TaskData, dev: Sequence[Example]) -> float:
        texts = [e.text for e in dev]
        encoded, predictions = self._predict(task.instruction, texts)
        if task.kind == "label":
            labels = [
                r.value
                for r in labels_from(encoded, predictions, self.proxy_config, task.instruction)
            ]
            scores = score_labels(labels, [bool(e.label) for e in dev])
            return scores.accuracy_and_f1
        spans = [r.spans for r in spans_from(texts, encoded, predictions)]
        return score_spans(spans, [e.spans or () for e in dev]).f1

    def _pseudo_label(
        self, splits: Sequence[_Split], unlabeled: Mapping[str, Sequence[str]]
    ) -> list[TrainItem]:
        """Confident predictions on unlabelled texts, as down-weighted examples."""
        pseudo: list[TrainItem] = []
        for split in splits:
            texts = list(unlabeled.get(split.task.instruction, ()))[: self.config.self_training_max]
            if texts:
                examples = self._confident(split, texts)
                pseudo.extend(train_items(split.task, examples, 0.5))
        return pseudo

    def _confident(self, split: _Split, texts: Sequence[str]) -> list[Example]:
        task = split.task
        encoded, predictions = self._predict(task.instruction, texts)
        if task.kind == "label":
            return self._confident_labels(task.instruction, texts, encoded, predictions)
        return self._confident_spans(texts, encoded, predictions)

    def _confident_labels(
        self,
        instruction: str,
        texts: Sequence[str],
        encoded: Encoded,
        predictions: WindowPredictions,
    ) -> list[Example]:
        results = labels_from(encoded, predictions, self.proxy_config, instruction)
        return [
            Example(text, label=r.value, taught=True)
            for text, r in zip(texts, results, strict=True)
            if r.confidence >= self.config.self_training_threshold
        ]

    def _confident_spans(
        self, texts: Sequence[str], encoded: Encoded, predictions: WindowPredictions
    ) -> list[Example]:
        """Texts whose every word was tagged confidently, so no span in them is a guess."""
        keep = []
        results = spans_from(texts, encoded, predictions)
        for text, doc, result in zip(texts, encoded.docs, results, strict=True):
            rows = [predictions.tag_probabilities[w] for w in doc.windows]
            certainty = min((float(p.max(axis=1).min()) for p in rows if len(p)), default=0.0)
            if certainty >= self.config.self_training_threshold:
                keep.append(Example(text, spans=result.spans, taught=True))
        return keep


def _dev_sizes(splits: Sequence[_Split]) -> dict[str, int]:
    return {split.task.instruction: len(split.dev) for split in splits if split.dev}


def _dev_positives(splits: Sequence[_Split]) -> dict[str, int]:
    """The yes answers of each yes/no step's held-out slice: the units its F1 is counted on."""
    return {
        split.task.instruction: sum(bool(e.label) for e in split.dev)
        for split in splits
        if split.dev and split.task.kind == "label"
    }


@dataclass(frozen=True)
class _BatchLosses:
    """One batch's losses before they are averaged: `label` and `label_weights` per window
    (`has_label` marks the windows with a yes/no target), `tags` per token (`tagged` marks the
    tokens with a tag target), `window_weights` the examples' weights."""

    label: torch.Tensor
    has_label: torch.Tensor
    label_weights: torch.Tensor
    tags: torch.Tensor
    tagged: torch.Tensor
    window_weights: torch.Tensor


def _snapshot(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}
