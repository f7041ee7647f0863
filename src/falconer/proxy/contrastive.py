"""Contrastive warm-up of the encoder on a label step's examples, before the supervised fit.

SetFit (Tunstall et al., 2022): a sentence encoder learns a yes/no question from few labels
best by pulling the pooled embeddings of two texts with the same answer together and pushing
two with different answers apart (cosine similarity regressed on 1 / 0): every labelled text
takes part in many pairs, so a few hundred labels give thousands of training signals, in the
embedding space MiniLM was pre-trained in. Each text is encoded with its instruction, exactly
as the proxy reads it. Soft targets (an LLM's P(yes)) pair on their yes/no.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F  # noqa: N812

from falconer.core.callbacks import Progress
from falconer.core.tasks import Example
from falconer.proxy.batching import collate
from falconer.proxy.config import ProxyConfig
from falconer.proxy.encoding import Window, encode
from falconer.proxy.model import ProxyModel, mean_pool


@dataclass(frozen=True, slots=True)
class Pair:
    first: Window
    second: Window
    same: bool


def make_pairs(
    windows: Sequence[Window], labels: Sequence[bool], per_text: int, rng: random.Random
) -> list[Pair]:
    """`per_text` rounds of one same-answer and one other-answer partner for every text; none
    when either answer has fewer than two texts (nothing to contrast)."""
    by_label: dict[bool, list[Window]] = {True: [], False: []}
    for window, label in zip(windows, labels, strict=True):
        by_label[label].append(window)
    if min(len(group) for group in by_label.values()) < 2:
        return []
    pairs = []
    for _ in range(per_text):
        for window, label in zip(windows, labels, strict=True):
            pairs.append(Pair(window, rng.choice(by_label[label]), True))
            pairs.append(Pair(window, rng.choice(by_label[not label]), False))
    rng.shuffle(pairs)
    return pairs


def label_pairs(
    tokenizer: object,
    instruction: str,
    examples: Sequence[Example],
    config: ProxyConfig,
    per_text: int,
    rng: random.Random,
) -> list[Pair]:
    """Pairs over the examples' first windows (a label's evidence is rarely only further on;
    inference still reads every window)."""
    labelled = [e for e in examples if e.label is not None]
    firsts = first_windows(tokenizer, instruction, [e.text for e in labelled], config)
    return make_pairs(firsts, [bool(e.label) for e in labelled], per_text, rng)


def first_windows(
    tokenizer: object, instruction: str, texts: Sequence[str], config: ProxyConfig
) -> list[Window]:
    """Each text's first window with its instruction, cut as the proxy cuts them."""
    encoded = encode(tokenizer, [instruction] * len(texts), texts, config.max_length, config.stride)
    return [encoded.windows[doc.windows[0]] for doc in encoded.docs]


def warm_up(
    model: ProxyModel,
    pairs: Sequence[Pair],
    pad_id: int,
    learning_rate: float,
    batch_size: int = 16,
    progress: Progress | None = None,
) -> int:
    """Fit the encoder on the pairs (one pass, linear decay); returns the optimizer steps."""
    if not pairs:
        return 0
    parameters = [p for p in model.encoder_parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(parameters, lr=learning_rate, foreach=True)
    total = (len(pairs) + batch_size - 1) // batch_size
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1 - step / total)
    model.train()
    for step, start in enumerate(range(0, len(pairs), batch_size), start=1):
        batch = pairs[start : start + batch_size]
        first = embed_windows(model, [p.first for p in batch], pad_id)
        second = embed_windows(model, [p.second for p in batch], pad_id)
        target = torch.tensor([float(p.same) for p in batch])
        loss = F.mse_loss((first * second).sum(-1), target)
        loss.backward()  # type: ignore[no-untyped-call]
        optimizer.step()
        schedule.step()
        optimizer.zero_grad(set_to_none=True)
        if progress:
            progress("contrastive", step, total)
    model.eval()
    return total


def embed_windows(model: ProxyModel, windows: Sequence[Window], pad_id: int) -> torch.Tensor:
    """Unit-length mean-pooled embeddings of the windows: the space the pairs are fitted in."""
    batch = collate(windows, pad_id)
    states = model.token_states(**batch.inputs())  # type: ignore[arg-type]
    return F.normalize(mean_pool(states, batch.attention_mask), dim=-1)
