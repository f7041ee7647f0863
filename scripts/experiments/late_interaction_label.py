"""A yes/no head that reads the text and the instruction encoded apart (late interaction, as
SBERT's classifier reads two sentences): u = mean-pooled states of [CLS] text [SEP], v = of
[CLS] instruction [SEP], the head reads a projection of [u, v, u*v, |u-v|]. The span head
still reads the (instruction, text) pair. `text_alone_label.py` showed that the instruction
in the same sequence costs sst2 (text alone, no instruction: 0.801 / 0.813 against 0.786 /
0.792); this keeps the instruction, so one model can still answer several yes/no
instructions (multitask, cross-instruction negatives). With `--film` the head reads
u * (1 + scale(v)) + shift(v) instead, both maps starting at zero, so a fresh head reads the
text alone rather than a fresh 4x384 -> 384 projection of it. Runs `falconer bench proxy`
(all its other arguments) with the variant patched in; three encoder passes per window (the
instruction's is short), not a speed measurement.

Usage: python late_interaction_label.py [--film] --task DIR ... [--multitask] --seed S --json OUT
"""

import sys
from typing import Any

import torch
from _segments import embed_alone, segment
from torch import nn

from falconer.cli.app import app
from falconer.proxy import model
from falconer.proxy.model import HEAD_INIT_SEED, ProxyModel, ProxyOutput

FILM = "--film" in sys.argv
shipped_init = ProxyModel.__init__
shipped_head_parameters = ProxyModel.head_parameters


def init(self: ProxyModel, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
    shipped_init(self, encoder, hidden_size, dropout)
    if FILM:
        self.scale = nn.Linear(hidden_size, hidden_size)
        self.shift = nn.Linear(hidden_size, hidden_size)
        for layer in (self.scale, self.shift):
            nn.init.zeros_(layer.weight)
            nn.init.zeros_(layer.bias)
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(HEAD_INIT_SEED + 1)
        self.interaction = nn.Linear(4 * hidden_size, hidden_size)


def head_parameters(self: ProxyModel) -> list[nn.Parameter]:
    added = [self.scale, self.shift] if FILM else [self.interaction]
    return [*shipped_head_parameters(self), *(p for layer in added for p in layer.parameters())]


def combine(self: ProxyModel, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    if FILM:
        return u * (1 + self.scale(v)) + self.shift(v)
    return self.interaction(torch.cat([u, v, u * v, (u - v).abs()], dim=-1))


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
    return ProxyOutput(
        label_logits=self.label_head(self.dropout(combine(self, u, v))).squeeze(-1),
        tag_logits=self.span_head(self.dropout(states)),
    )


patched: dict[str, Any] = {"__init__": init, "head_parameters": head_parameters, "forward": forward}
for name, function in patched.items():
    setattr(model.ProxyModel, name, function)

if __name__ == "__main__":
    app(["bench", "proxy", *(arg for arg in sys.argv[1:] if arg != "--film")])
