"""Multitask loss weighting: `Trainer._loss` takes the label loss as a mean over a batch's
label windows and the tag loss as a mean over its tag tokens, and adds the two, so one yes/no
window among fifteen span windows weighs as much as all fifteen. Here each window counts once:
its label loss, or the mean of its tokens' tag losses, averaged over the batch's windows.
Runs `falconer bench proxy` (all its arguments) with that loss patched in.

Usage: python window_mean_loss.py --task DIR ... --multitask --seed S --json OUT
"""

import sys
from collections.abc import Sequence

import torch

from falconer.cli.app import app
from falconer.proxy import training
from falconer.proxy.encoding import Encoded
from falconer.proxy.targets import WindowTargets


def window_mean_loss(
    self: training.Trainer, encoded: Encoded, targets: WindowTargets, batch: Sequence[int]
) -> torch.Tensor:
    losses = self._losses(encoded, targets, batch)
    counts = losses.tagged.sum(dim=1)
    has_tags = counts > 0
    token_mean = (losses.tags * losses.tagged).sum(dim=1) / counts.clamp(min=1)
    per_window = torch.where(losses.has_label, losses.label, 0.0) + token_mean
    weight = torch.where(
        losses.has_label,
        losses.label_weights,
        torch.where(has_tags, losses.window_weights, 0.0),
    )
    used = weight > 0
    return (per_window[used] * weight[used]).sum() / weight[used].sum()


training.Trainer._loss = window_mean_loss  # type: ignore[method-assign]

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[1:]])
