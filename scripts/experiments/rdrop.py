"""R-Drop (Liang et al. 2021): every batch runs twice with different dropout masks; the loss is
the mean of the two shipped losses plus ALPHA times the symmetric KL divergence between the
two passes' yes/no answers (and tag distributions, on tagged tokens). A regulariser reported to
help few-label fine-tuning; costs two passes per step. Runs `falconer bench proxy` (all its
arguments) with that loss patched in.

Usage: python rdrop.py ALPHA --task DIR ... --seed S --json OUT
"""

import sys
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812

from falconer.cli.app import app
from falconer.proxy import training
from falconer.proxy.encoding import Encoded
from falconer.proxy.model import ProxyModel, ProxyOutput
from falconer.proxy.targets import WindowTargets

ALPHA = float(sys.argv[1])
outputs: list[ProxyOutput] = []


def capturing_forward(self: ProxyModel, *args: Any, **kwargs: Any) -> ProxyOutput:
    output = shipped_forward(self, *args, **kwargs)
    outputs.append(output)
    return output


def rdrop_loss(
    self: training.Trainer, encoded: Encoded, targets: WindowTargets, batch: Sequence[int]
) -> torch.Tensor:
    outputs.clear()
    first = shipped_loss(self, encoded, targets, batch)
    second = shipped_loss(self, encoded, targets, batch)
    a, b = outputs
    loss = (first + second) / 2
    has_label = ~torch.isnan(targets.labels[batch])
    if has_label.any():
        pa = torch.stack([F.logsigmoid(a.label_logits), F.logsigmoid(-a.label_logits)], -1)
        pb = torch.stack([F.logsigmoid(b.label_logits), F.logsigmoid(-b.label_logits)], -1)
        loss = loss + ALPHA * _symmetric_kl(pa[has_label], pb[has_label])
    tagged = a.tag_logits.new_zeros(a.tag_logits.shape[:2], dtype=torch.bool)
    for row, i in enumerate(batch):
        window = encoded.windows[i]
        if targets.tags[window.doc] is not None:
            tagged[row, : len(window.input_ids)] = True
    if tagged.any():
        ta = F.log_softmax(a.tag_logits[tagged], -1)
        tb = F.log_softmax(b.tag_logits[tagged], -1)
        loss = loss + ALPHA * _symmetric_kl(ta, tb)
    return loss


def _symmetric_kl(log_p: torch.Tensor, log_q: torch.Tensor) -> torch.Tensor:
    kl_pq = F.kl_div(log_q, log_p, log_target=True, reduction="batchmean")
    kl_qp = F.kl_div(log_p, log_q, log_target=True, reduction="batchmean")
    return (kl_pq + kl_qp) / 2


shipped_forward = ProxyModel.forward
ProxyModel.forward = capturing_forward  # type: ignore[method-assign]
shipped_loss = training.Trainer._loss
training.Trainer._loss = rdrop_loss  # type: ignore[method-assign]

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[2:]])
