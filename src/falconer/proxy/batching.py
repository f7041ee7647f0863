"""Windows -> padded tensors; sorting by length keeps padding (and wasted compute) small."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from falconer.proxy.encoding import IGNORE, Window


@dataclass(slots=True)
class Batch:
    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    token_type_ids: torch.Tensor | None
    shape_ids: torch.Tensor

    def inputs(self) -> dict[str, torch.Tensor | None]:
        return {
            "input_ids": self.input_ids,
            "attention_mask": self.attention_mask,
            "token_type_ids": self.token_type_ids,
            "shape_ids": self.shape_ids,
        }


def collate(windows: Sequence[Window], pad_id: int) -> Batch:
    """Pad a list of windows to the longest one of them (dynamic padding)."""
    width = max(len(w.input_ids) for w in windows)
    ids = torch.full((len(windows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(windows), width), dtype=torch.long)
    shapes = torch.zeros((len(windows), width), dtype=torch.long)
    with_types = windows[0].token_type_ids is not None
    types = torch.zeros((len(windows), width), dtype=torch.long) if with_types else None
    for row, window in enumerate(windows):
        n = len(window.input_ids)
        ids[row, :n] = torch.tensor(window.input_ids)
        mask[row, :n] = 1
        shapes[row, :n] = torch.tensor(window.shape_ids or [0] * n)
        if types is not None and window.token_type_ids is not None:
            types[row, :n] = torch.tensor(window.token_type_ids)
    return Batch(ids, mask, types, shapes)


def tag_targets(
    windows: Sequence[Window], tags: Sequence[dict[int, int] | None], width: int
) -> torch.Tensor:
    """Per-token tag targets: a word's tag on its first sub-token, IGNORE elsewhere."""
    targets = torch.full((len(windows), width), IGNORE, dtype=torch.long)
    for row, (window, doc_tags) in enumerate(zip(windows, tags, strict=True)):
        if doc_tags is None:
            continue
        for position, word in zip(window.positions, window.words, strict=True):
            targets[row, position] = doc_tags.get(word, 0)
    return targets


def length_sorted_batches(windows: Sequence[Window], batch_size: int) -> list[list[int]]:
    """Indices of windows grouped into batches of similar length."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
