"""Which documents the LLM annotates: a uniform random sample, or a diverse one.

The diverse sampler covers the corpus: greedy k-center over the backbone's sentence
embeddings picks each next document farthest from those already picked, so rare kinds of
documents get annotated too. Only a random candidate pool (`pool_factor` x N) is embedded,
which keeps it cheap on a corpus of millions.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from falconer.core.documents import Document
from falconer.core.errors import InputError

Sampler = Literal["random", "diverse"]
SAMPLERS: tuple[Sampler, ...] = ("random", "diverse")
POOL_FACTOR = 20  # the diverse sampler's candidates: a random pool of POOL_FACTOR x N


def pool_size(n: int, sampler: Sampler) -> int:
    """How many random documents `choose` needs to pick N by `sampler`: a caller that streams
    a large corpus keeps only these (a reservoir), never the whole corpus."""
    return n * POOL_FACTOR if sampler == "diverse" else n


def sample_random(docs: Sequence[Document], n: int, seed: int) -> list[Document]:
    if n >= len(docs):
        return list(docs)
    return random.Random(seed).sample(list(docs), n)


def k_center(embeddings: np.ndarray, n: int, seed: int, first: int | None = None) -> list[int]:
    """Greedy k-center: start at `first` (else a random point), repeatedly add the farthest."""
    count = embeddings.shape[0]
    if n >= count:
        return list(range(count))
    first = random.Random(seed).randrange(count) if first is None else first
    chosen = [first]
    distance = np.linalg.norm(embeddings - embeddings[first], axis=1)
    for _ in range(n - 1):
        nxt = int(np.argmax(distance))
        chosen.append(nxt)
        distance = np.minimum(distance, np.linalg.norm(embeddings - embeddings[nxt], axis=1))
    return chosen


@functools.lru_cache(maxsize=2)
def _encoder(backbone: str) -> tuple[Any, Any]:
    """Loaded once per process: scoring a plan set embeds a few texts many times."""
    from transformers import AutoModel, AutoTokenizer

    from falconer.proxy.backbones import resolve_backbone

    path = resolve_backbone(backbone)
    return AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()


def embed(texts: Sequence[str], backbone: str = "default", batch_size: int = 64) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embeddings from the proxy's backbone encoder."""
    import torch

    tokenizer, model = _encoder(backbone)
    chunks = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                padding=True,
                truncation=True,
                max_length=256,
                return_tensors="pt",
            )
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
            chunks.append(torch.nn.functional.normalize(pooled, dim=-1).numpy())
    return np.concatenate(chunks) if chunks else np.zeros((0, 1), dtype=np.float32)


def sample_diverse(
    docs: Sequence[Document],
    n: int,
    seed: int,
    *,
    backbone: str = "default",
    pool_factor: int = POOL_FACTOR,
) -> list[Document]:
    if n >= len(docs):
        return list(docs)
    pool = sample_random(docs, min(len(docs), n * pool_factor), seed)
    chosen = k_center(embed([d.text for d in pool], backbone), n, seed)
    return [pool[i] for i in chosen]


def sample_uncertain(
    docs: Sequence[Document],
    confidences: Sequence[float],
    n: int,
    *,
    seed: int,
    backbone: str = "default",
    candidates_factor: int = 4,
) -> list[Document]:
    """N of the documents the proxy is least sure of, spread out: greedy k-center over the
    embeddings of the `candidates_factor` x N least sure, starting from the least sure."""
    if len(docs) != len(confidences):
        raise InputError("one confidence per document is needed")
    order = sorted(range(len(docs)), key=lambda i: (confidences[i], i))
    candidates = [docs[i] for i in order[: n * candidates_factor]]
    if len(candidates) <= n:
        return candidates
    chosen = k_center(embed([d.text for d in candidates], backbone), n, seed, first=0)
    return [candidates[i] for i in chosen]


def choose(
    docs: Sequence[Document], n: int, *, sampler: Sampler = "random", seed: int = 0
) -> list[Document]:
    """N documents of `docs` by the named sampler."""
    if n < 1:
        raise InputError(f"the number of documents to annotate must be >= 1, got {n}")
    if sampler == "random":
        return sample_random(docs, n, seed)
    if sampler == "diverse":
        return sample_diverse(docs, n, seed)
    raise InputError(f"unknown sampler {sampler!r}; use one of {SAMPLERS}")
