"""What the experiments that read one part of an (instruction, text) pair on its own share:
cut that part out of the pair's token ids and embed it as a sequence of its own."""

import torch

from falconer.proxy.model import ProxyModel, mean_pool


def segment(
    input_ids: torch.Tensor, keep: torch.Tensor, cls: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Each row's kept tokens as its own sequence ([CLS] first where `cls`), padded."""
    rows = [input_ids[b][keep[b]] for b in range(input_ids.shape[0])]
    extra = 1 if cls else 0
    length = extra + max(len(r) for r in rows)
    ids = torch.zeros((len(rows), length), dtype=input_ids.dtype)
    mask = torch.zeros_like(ids)
    for b, row in enumerate(rows):
        if cls:
            ids[b, 0] = input_ids[b, 0]
        ids[b, extra : extra + len(row)] = row
        mask[b, : extra + len(row)] = 1
    return ids, mask


def embed_alone(proxy: ProxyModel, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean-pooled encoder states of sequences built by `segment` (one segment: type ids 0)."""
    states = proxy.encoder(
        input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
    ).last_hidden_state
    return mean_pool(states, mask)
