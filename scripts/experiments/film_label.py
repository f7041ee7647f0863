"""A yes/no head that reads the text encoded apart from the instruction, the instruction
modulating it (FiLM): u = mean-pooled states of [CLS] text [SEP], v = of [CLS] instruction
[SEP], the head reads u * (1 + gamma(v)) + beta(v) with gamma and beta linear maps that start
at zero, so a fresh model starts as the text-alone fit (`text_alone_label.py`, sst2 0.801)
instead of behind a fresh 4x384 -> 384 projection (`late_interaction_label.py`, 0.790). The
span head still reads the (instruction, text) pair. Runs `falconer bench proxy` (all its
arguments) with the variant patched in; not a speed measurement.

Usage: python film_label.py --task DIR ... [--multitask] --seed S --json OUT
"""

import sys
from typing import Any

import torch
from _segments import embed_alone, segment
from torch import nn

from falconer.cli.app import app
from falconer.proxy import model
from falconer.proxy.model import ProxyModel, ProxyOutput

shipped_init = ProxyModel.__init__
shipped_head_parameters = ProxyModel.head_parameters


def init(self: ProxyModel, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
    shipped_init(self, encoder, hidden_size, dropout)
    self.scale = nn.Linear(hidden_size, hidden_size)
    self.shift = nn.Linear(hidden_size, hidden_size)
    for layer in (self.scale, self.shift):
        nn.init.zeros_(layer.weight)
        nn.init.zeros_(layer.bias)


def head_parameters(self: ProxyModel) -> list[nn.Parameter]:
    return [*shipped_head_parameters(self), *self.scale.parameters(), *self.shift.parameters()]


def forward(
    self: ProxyModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
    shape_ids: torch.Tensor | None = None,
) -> ProxyOutput:
    assert token_type_ids is not None, "needs segment ids (a BERT-style pair)"
    states = self.token_states(input_ids, attention_mask, token_type_ids, shape_ids)
    attended = attention_mask.bool()
    u = embed_alone(self, *segment(input_ids, (token_type_ids == 1) & attended, cls=True))
    v = embed_alone(self, *segment(input_ids, (token_type_ids == 0) & attended, cls=False))
    features = u * (1 + self.scale(v)) + self.shift(v)
    return ProxyOutput(
        label_logits=self.label_head(self.dropout(features)).squeeze(-1),
        tag_logits=self.span_head(self.dropout(states)),
    )


patched: dict[str, Any] = {"__init__": init, "head_parameters": head_parameters, "forward": forward}
for name, function in patched.items():
    setattr(model.ProxyModel, name, function)

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[1:]])
