"""Multitask loss weighting: `Trainer._loss` takes the label loss as a mean over a batch's
label windows and the tag loss as a mean over its tag tokens, and adds the two, so one yes/no
window among fifteen span windows weighs as much as all fifteen. Here each window counts once:
its label loss, or the mean of its tokens' tag losses, averaged over the batch's windows.
Runs `falconer bench proxy` (all its arguments) with that loss patched in.

Usage: python window_mean_loss.py --task DIR ... --multitask --seed S --json OUT
"""

from collections.abc import Sequence

import torch
import torch.nn.functional as F  # noqa: N812

from falconer.cli.app import app
from falconer.proxy import training
from falconer.proxy.batching import collate, tag_targets
from falconer.proxy.encoding import Encoded


def window_mean_loss(
    self: training.Trainer, encoded: Encoded, targets: training._Targets, batch: Sequence[int]
) -> torch.Tensor:
    windows = [encoded.windows[i] for i in batch]
    inputs = collate(windows, self.tokenizer.pad_token_id)
    output = self.model(**inputs.inputs())
    weights = targets.weights[batch]
    label_targets = targets.labels[batch]
    has_label = ~torch.isnan(label_targets)
    per_window = torch.zeros(len(batch))
    window_weight = torch.zeros(len(batch))
    if has_label.any():
        per_item = F.binary_cross_entropy_with_logits(
            output.label_logits[has_label], label_targets[has_label], reduction="none"
        )
        per_window[has_label] = per_window[has_label] + per_item
        w = weights[has_label] * targets.label_balance[batch][has_label]
        window_weight[has_label] = w
    tags = tag_targets(windows, [targets.tags[w.doc] for w in windows], inputs.input_ids.shape[1])
    valid = tags != -100
    if valid.any():
        positive = self.config.span_positive_weight
        per_token = F.cross_entropy(
            output.tag_logits.transpose(1, 2),
            tags,
            weight=torch.tensor([1.0, positive, positive]),
            ignore_index=-100,
            reduction="none",
        )
        counts = valid.sum(dim=1)
        tagged = counts > 0
        token_mean = (per_token * valid).sum(dim=1)[tagged] / counts[tagged]
        per_window[tagged] = per_window[tagged] + token_mean
        window_weight[tagged] = torch.where(
            has_label[tagged], window_weight[tagged], weights[tagged]
        )
    used = window_weight > 0
    return (per_window[used] * window_weight[used]).sum() / window_weight[used].sum()


training.Trainer._loss = window_mean_loss  # type: ignore[method-assign]

if __name__ == "__main__":
    app(["bench", "proxy", *__import__("sys").argv[1:]])
