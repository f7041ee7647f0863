"""Does sharing the encoder with the span steps cost a multitask fit's yes/no steps? The
thirteenth session found the two yes/no tasks alone reach single-task level; over five tasks
sst2 stays about 3 points under. Here the last K encoder layers are copied at the start: yes/no
windows are read by the backbone's own top layers, span windows by the copy, the layers below
shared. Both tops run on every window (training cost up by K/6; a product would route each
window to its kind's top, one pass as now). Runs `falconer bench proxy` (all its other
arguments) with the variant patched in; MiniLM (BERT layers) only.

Usage: python kind_top_layers.py K --task DIR ... [--multitask] --seed S --json OUT
"""

import copy
import sys
from typing import Any

import torch
from torch import nn

from falconer.cli.app import app
from falconer.proxy import model
from falconer.proxy.model import ProxyModel, ProxyOutput, mean_pool

K = int(sys.argv[1])
shipped_init = ProxyModel.__init__


def init(self: ProxyModel, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
    shipped_init(self, encoder, hidden_size, dropout)
    self.span_top = copy.deepcopy(self.encoder.encoder.layer[-K:])


def encoder_parameters(self: ProxyModel) -> list[nn.Parameter]:
    return [*self.encoder.parameters(), *self.span_top.parameters()]


def forward(
    self: ProxyModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
    shape_ids: torch.Tensor | None = None,
) -> ProxyOutput:
    embeddings = self.encoder.get_input_embeddings()(input_ids)
    if shape_ids is not None:
        embeddings = embeddings + self.shape_embeddings(shape_ids)
    output = self.encoder(
        inputs_embeds=embeddings,
        attention_mask=attention_mask,
        token_type_ids=token_type_ids,
        output_hidden_states=True,
    )
    span_states = output.hidden_states[-K - 1]
    mask = attention_mask.bool()[:, None, None, :]
    for layer in self.span_top:
        span_states = layer(span_states, mask)
    pooled = mean_pool(output.last_hidden_state, attention_mask)
    return ProxyOutput(
        label_logits=self.label_head(self.dropout(pooled)).squeeze(-1),
        tag_logits=self.span_head(self.dropout(span_states)),
    )


patched: dict[str, Any] = {
    "__init__": init,
    "encoder_parameters": encoder_parameters,
    "forward": forward,
}
for name, function in patched.items():
    setattr(model.ProxyModel, name, function)

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[2:]])
