"""Multitask gradient surgery (PCGrad, Yu et al. 2020) between the two kinds of step: a
batch's yes/no windows and its span windows are run apart, each gives its own gradient, and
where the two point against each other (negative dot product) each loses its component
along the other before they are added. Tests docs/results.md's guess that sharing the encoder
with the span tasks is what costs multitask sst2. Runs `falconer bench proxy` (all its
arguments) with that step patched in; prints how often the gradients conflicted.

Usage: python pcgrad_kinds.py --task DIR ... --multitask --seed S --json OUT
"""

import sys
from collections.abc import Sequence

import torch

from falconer.cli.app import app
from falconer.proxy import training
from falconer.proxy.encoding import Encoded
from falconer.proxy.targets import WindowTargets

conflicts: list[float] = []  # cosine of the two kinds' gradients, batches with both kinds


def pcgrad_loss(
    self: training.Trainer, encoded: Encoded, targets: WindowTargets, batch: Sequence[int]
) -> torch.Tensor:
    """Leaves the surgically combined gradient in `.grad` and returns a loss with no graph
    to the model, so the shipped step's `backward` adds nothing to it."""
    is_label = ~torch.isnan(targets.labels[batch])
    groups = [
        [i for i, label in zip(batch, is_label.tolist(), strict=True) if label == kind]
        for kind in (True, False)
    ]
    params = [p for p in self.model.parameters() if p.requires_grad]
    grads = [_flat_grad(shipped_loss(self, encoded, targets, g), params) for g in groups if g]
    if len(grads) == 2:
        grads = _projected(*grads)
    _assign(sum(grads), params)
    return torch.zeros((), requires_grad=True)


def _flat_grad(loss: torch.Tensor, params: list[torch.nn.Parameter]) -> torch.Tensor:
    grads = torch.autograd.grad(loss, params, allow_unused=True)
    return torch.cat(
        [
            (g if g is not None else torch.zeros_like(p)).reshape(-1)
            for g, p in zip(grads, params, strict=True)
        ]
    )


def _projected(first: torch.Tensor, second: torch.Tensor) -> list[torch.Tensor]:
    dot = torch.dot(first, second)
    conflicts.append(float(dot / (first.norm() * second.norm()).clamp(min=1e-12)))
    if dot >= 0:
        return [first, second]
    return [
        first - dot / second.pow(2).sum().clamp(min=1e-12) * second,
        second - dot / first.pow(2).sum().clamp(min=1e-12) * first,
    ]


def _assign(flat: torch.Tensor, params: list[torch.nn.Parameter]) -> None:
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


shipped_loss = training.Trainer._loss
training.Trainer._loss = pcgrad_loss  # type: ignore[method-assign]

if __name__ == "__main__":
    try:
        app(["bench", "proxy", *sys.argv[1:]])
    finally:
        negative = sum(c < 0 for c in conflicts)
        print(
            f"pcgrad: {len(conflicts)} batches with both kinds, {negative} in conflict; "
            f"mean cosine {sum(conflicts) / max(len(conflicts), 1):.3f}"
        )
