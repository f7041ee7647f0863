"""Multitask loss weighting, the other way from window_mean_loss.py: the yes/no part of a
batch's loss multiplied by WEIGHT (the tag part as shipped), to see whether multitask sst2
gains what counting every window once lost. Runs `falconer bench proxy` with that loss.

Usage: python label_loss_weight.py WEIGHT --task DIR ... --multitask --seed S --json OUT
"""

import dataclasses
import sys
from collections.abc import Sequence

from falconer.cli.app import app
from falconer.proxy import training
from falconer.proxy.encoding import Encoded
from falconer.proxy.targets import WindowTargets

WEIGHT = float(sys.argv[1])


def weighted_losses(
    self: training.Trainer, encoded: Encoded, targets: WindowTargets, batch: Sequence[int]
) -> training._BatchLosses:
    losses = shipped_losses(self, encoded, targets, batch)
    return dataclasses.replace(losses, label=losses.label * WEIGHT)


shipped_losses = training.Trainer._losses
training.Trainer._losses = weighted_losses  # type: ignore[method-assign]

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[2:]])
