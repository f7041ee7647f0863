"""How much the instruction in the same sequence costs a yes/no step: the yes/no head reads
the mean-pooled states of the text ALONE ([CLS] text [SEP], as MiniLM was trained to embed a
sentence), the span head still the pair's. A frozen, class-balanced logistic regression on
the text-alone embedding of the same 256 agnews-sports annotations scored F1 0.955 / 0.952 /
0.936 (seeds 0-2), on the pair's embedding 0.919 / 0.917 / 0.905: the upper bound, for a
single yes/no task, of a label head that reads the text apart from the instruction (here
the instruction is not seen by the yes/no head at all). Runs `falconer bench proxy` (all its
arguments) with that forward patched in; two encoder passes per window.

Usage: python text_alone_label.py --task DIR ... --seed S --json OUT
"""

import sys

import torch
from _segments import embed_alone, segment

from falconer.cli.app import app
from falconer.proxy import model
from falconer.proxy.model import ProxyModel, ProxyOutput


def forward(
    self: ProxyModel,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    token_type_ids: torch.Tensor | None = None,
    shape_ids: torch.Tensor | None = None,
) -> ProxyOutput:
    assert token_type_ids is not None, "needs segment ids (a BERT-style pair)"
    states = self.token_states(input_ids, attention_mask, token_type_ids, shape_ids)
    text = (token_type_ids == 1) & attention_mask.bool()
    pooled = embed_alone(self, *segment(input_ids, text, cls=True))
    return ProxyOutput(
        label_logits=self.label_head(self.dropout(pooled)).squeeze(-1),
        tag_logits=self.span_head(self.dropout(states)),
    )


model.ProxyModel.forward = forward  # type: ignore[method-assign]

if __name__ == "__main__":
    app(["bench", "proxy", *sys.argv[1:]])
