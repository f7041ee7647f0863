"""The network: a pre-trained encoder, a label head over the pooled pair, a tag head per token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from falconer.proxy.config import TAGS
from falconer.proxy.encoding import N_SHAPES

HEAD_INIT_SEED = 0


@dataclass(slots=True)
class ProxyOutput:
    label_logits: torch.Tensor
    tag_logits: torch.Tensor


class ProxyModel(nn.Module):
    """Encoder with two heads; both read the same instruction-conditioned token states.

    The label head mean-pools the whole pair (what sentence encoders such as MiniLM were
    trained for); the span head tags each token. One network serves every step of a plan.
    """

    def __init__(self, encoder: nn.Module, hidden_size: int, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder: Any = encoder
        self.dropout = nn.Dropout(dropout)
        # fresh heads are the same every time, whatever the random state before: otherwise
        # two fits with the same seed start from different heads and end up to 0.02 apart
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(HEAD_INIT_SEED)
            self.label_head = nn.Sequential(
                nn.Linear(hidden_size, hidden_size),
                nn.Tanh(),
                nn.Dropout(dropout),
                nn.Linear(hidden_size, 1),
            )
            self.span_head = nn.Linear(hidden_size, len(TAGS))
        self.shape_embeddings = nn.Embedding(N_SHAPES, hidden_size)
        nn.init.zeros_(self.shape_embeddings.weight)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        shape_ids: torch.Tensor | None = None,
    ) -> ProxyOutput:
        states = self.token_states(input_ids, attention_mask, token_type_ids, shape_ids)
        pooled = mean_pool(states, attention_mask)
        return ProxyOutput(
            label_logits=self.label_head(self.dropout(pooled)).squeeze(-1),
            tag_logits=self.span_head(self.dropout(states)),
        )

    def token_states(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        token_type_ids: torch.Tensor | None = None,
        shape_ids: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Word shapes (case, digits) are added to the token embeddings; they start at zero, so
        a fresh proxy computes exactly what its backbone does."""
        embeddings = self.encoder.get_input_embeddings()(input_ids)
        if shape_ids is not None:
            embeddings = embeddings + self.shape_embeddings(shape_ids)
        inputs = {"inputs_embeds": embeddings, "attention_mask": attention_mask}
        if token_type_ids is not None:
            inputs["token_type_ids"] = token_type_ids
        return self.encoder(**inputs).last_hidden_state  # type: ignore[no-any-return]

    def head_parameters(self) -> list[nn.Parameter]:
        return [
            *self.label_head.parameters(),
            *self.span_head.parameters(),
            *self.shape_embeddings.parameters(),
        ]

    def encoder_parameters(self) -> list[nn.Parameter]:
        return list(self.encoder.parameters())

    def word_embeddings(self) -> nn.Module | None:
        """The token embedding table: most of a small encoder's weights, and the part a few
        hundred examples overfit first (and the slowest to update densely on CPU)."""
        embeddings = self.encoder.get_input_embeddings()
        return embeddings if isinstance(embeddings, nn.Module) else None


def mean_pool(states: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    mask = attention_mask.unsqueeze(-1).to(states.dtype)
    return (states * mask).sum(1) / mask.sum(1).clamp(min=1.0)
