"""What the yes/no head reads: the shipped head mean-pools the whole pair (instruction and
text, as MiniLM was trained to pool a sentence); here it pools only the text's tokens
(segment B), or reads the [CLS] state. The instruction still reaches those tokens through
attention. Runs `falconer bench proxy` (all its arguments) with the variant patched in;
MiniLM-style pairs only (token type ids).

Usage: python text_pooling.py text|cls --task DIR ... --seed S --json OUT
"""

import sys

import torch

from falconer.cli.app import app
from falconer.proxy import model
from falconer.proxy.model import ProxyModel, ProxyOutput, mean_pool

VARIANT = sys.argv[1]


def forward(
    self: ProxyModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
    shape_ids: torch.Tensor | None = None,
) -> ProxyOutput:
    states = self.token_states(input_ids, attention_mask, token_type_ids, shape_ids)
    if VARIANT == "cls":
        pooled = states[:, 0]
    else:
        assert token_type_ids is not None, "text pooling needs segment ids"
        pooled = mean_pool(states, attention_mask * token_type_ids)
    return ProxyOutput(
        label_logits=self.label_head(self.dropout(pooled)).squeeze(-1),
        tag_logits=self.span_head(self.dropout(states)),
    )


assert VARIANT in {"text", "cls"}, VARIANT
model.ProxyModel.forward = forward  # type: ignore[method-assign]

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[2:]])
