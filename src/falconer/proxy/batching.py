"""Windows -> padded tensors; sorting by length keeps padding (and wasted compute) small."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from falconer.proxy.encoding import IGNORE, Window

# padding a batch may add to its real tokens (`length_sorted_batches`)
PADDING_SLACK = 0.05


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


def length_sorted_batches(
    windows: Sequence[Window], batch_size: int, padding_slack: float = PADDING_SLACK
) -> list[list[int]]:
    """Indices of windows grouped into batches of similar length: at most `batch_size`, and a
    new batch begins where padding to the next window would add more than `padding_slack` of
    the batch's real tokens. A fixed count alone pads the few long windows' batch to the
    longest of them: the fp32 recomputation of int8's borderline windows (the longer ones)
    took 0.55 s on a laptop-aspects proxy, 0.26 s cut this way (scripts/experiments/
    batch_padding.py)."""
    order = sorted(range(len(windows)), key=lambda i: len(windows[i].input_ids))
    batches: list[list[int]] = []
    current: list[int] = []
    tokens = 0
    for i in order:
        length = len(windows[i].input_ids)
        full = len(current) == batch_size
        too_padded = length * (len(current) + 1) > (1 + padding_slack) * (tokens + length)
        if current and (full or too_padded):
            batches.append(current)
            current, tokens = [], 0
        current.append(i)
        tokens += length
    if current:
        batches.append(current)
    return batches
