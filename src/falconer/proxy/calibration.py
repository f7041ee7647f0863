"""Temperature scaling: one scalar per instruction that makes the proxy's confidences honest;
after soft-target fits, the decision offset that keeps the annotator's yes-rate; and for a
label step a plan filters on, the threshold that maximises the F1 of what it lets through.

A fine-tuned encoder is over-confident, most of all after many steps on few labels; the
cascade and the run report read its confidences as probabilities, so they have to be.
Dividing the logits by a temperature fitted on held-out annotations (Guo et al., 2017) fixes
this without changing a single decision. For spans the temperature is fitted on the word
tags, which is what a document's confidence is made of.

A proxy regressed on an unsure teacher's P(yes) shrinks toward the mean: when the LLM says
yes to one review in ten with P(yes) 0.50-0.57 and no with 0.2-0.45, the proxy's outputs for
the yes-reviews land just under 0.5 and it never says yes (laptop-criticized, 100 LLM
annotations). Its ranking is still informative, so the decisions are re-centred on the logit
that makes it say yes to as many annotated texts as the annotator did.

A filter in front of an extraction is scored by the F1 of the records it lets through, not by
accuracy: a document it wrongly drops loses all its spans. With calibrated probabilities the
best F1 keeps every text whose P(yes) is above half the F1 reached, which under an unsure
ranking is more texts than the yes-share (laptop-aspects-in-criticized, seed 4: centred on
the annotator's yes-share, 8%, the proxy kept 58 of 415 reviews, span F1 0.219 against
LLM-only's 0.252; re-scored at its F1-optimal share, 19%, it keeps 111: 0.264).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from falconer.core.results import LabelResult
from falconer.core.tasks import Example, Kind
from falconer.proxy.config import ProxyConfig
from falconer.proxy.decoding import aggregate_label
from falconer.proxy.encoding import Encoded, word_tags
from falconer.proxy.inference import WindowLogits, text_logits
from falconer.proxy.runtimes import Runtime

# log-spaced candidates; a grid is robust where a gradient method can run off on a few points
TEMPERATURES = np.exp(np.linspace(np.log(0.25), np.log(25.0), 161))
MIN_EXAMPLES = 8
# fewest unannotated texts a yes-share is matched on (else the annotated texts are used)
MIN_UNANNOTATED = 50


def fit_temperature(
    runtime: Runtime | Any,
    tokenizer: Any,
    config: ProxyConfig,
    instruction: str,
    kind: Kind,
    held_out: Sequence[Example],
) -> float:
    """The temperature minimising the held-out negative log-likelihood; 1.0 (as trained) when
    there are too few held-out examples to say."""
    if len(held_out) < MIN_EXAMPLES:
        return 1.0
    texts = [e.text for e in held_out]
    encoded, logits = text_logits(runtime, tokenizer, config, instruction, texts)
    if kind == "label":
        offset = config.label_offsets.get(instruction, 0.0)
        candidates = _candidates(_label_mistakes(encoded, logits, held_out, config, offset))
        losses = [_label_loss(encoded, logits, held_out, config, t, offset) for t in candidates]
    else:
        rows, targets = _tag_rows(encoded, logits, held_out)
        if not len(targets):
            return 1.0
        candidates = _candidates(int((rows.argmax(axis=1) != targets).sum()))
        losses = [_tag_loss(rows, targets, t) for t in candidates]
    return round(float(candidates[int(np.argmin(losses))]), 4)


def fit_label_offset(
    runtime: Runtime | Any,
    tokenizer: Any,
    config: ProxyConfig,
    instruction: str,
    annotated: Sequence[Example],
    unannotated: Sequence[str] = (),
) -> float:
    """The label logit to centre decisions on: the proxy says yes above it to the annotator's
    yes-share of the texts ranked, midway between the last yes and the first no (0.0, as
    trained, when the annotator said all yes or all no). The texts ranked are `unannotated`
    ones when there are at least MIN_UNANNOTATED of them, else the annotated ones: a proxy
    fitted to the annotated texts ranks its own training yes-answers above any new text, so
    on a rare yes a threshold set there says yes to far fewer of the texts it will meet."""
    n_yes = sum(bool(e.label) for e in annotated)
    if not 0 < n_yes < len(annotated):
        return 0.0
    texts = [e.text for e in annotated]
    if len(unannotated) >= MIN_UNANNOTATED:
        texts = list(unannotated)
    encoded, logits = text_logits(runtime, tokenizer, config, instruction, texts)
    probabilities = np.array([r.probability for r in doc_labels(encoded, logits, config, 1.0)])
    clipped = np.clip(probabilities.astype(np.float64), 1e-7, 1 - 1e-7)
    return offset_at_share(np.log(clipped / (1 - clipped)), n_yes / len(annotated))


def fit_filter_threshold(
    runtime: Runtime | Any,
    tokenizer: Any,
    config: ProxyConfig,
    instruction: str,
    texts: Sequence[str],
) -> float | None:
    """The P(yes) above which a label step that lets documents through a filter says yes: the
    one maximising the expected F1 of its yes-answers over `texts` (unannotated ones), taking
    its calibrated probabilities at their word (see `f1_optimal_share`); None when there are
    fewer than MIN_UNANNOTATED texts to say."""
    if len(texts) < MIN_UNANNOTATED:
        return None
    encoded, logits = text_logits(runtime, tokenizer, config, instruction, list(texts))
    temperature = config.temperatures.get(instruction, 1.0)
    offset = config.label_offsets.get(instruction, 0.0)
    results = doc_labels(encoded, logits, config, temperature, offset)
    probabilities = np.array([r.probability for r in results])
    return offset_at_share(probabilities, f1_optimal_share(probabilities))


def offset_at_share(scores: np.ndarray, share: float) -> float:
    """The score (a logit or a probability) above which `share` of `scores` say yes (at least
    one yes and one no), midway between the last yes and the first no."""
    ranked = np.sort(np.asarray(scores, dtype=np.float64))[::-1]
    k = min(max(round(share * len(ranked)), 1), len(ranked) - 1)
    return round(float((ranked[k - 1] + ranked[k]) / 2), 4)


def f1_optimal_share(probabilities: np.ndarray) -> float:
    """The share of texts to say yes to that maximises the expected F1 of yes, each text taken
    to be yes with its probability: keep the k most probable, k maximising 2 * (their summed
    probability) / (k + the summed probability of all). A filter in front of an extraction is
    scored by F1 over what it lets through, and under an unsure ranking that optimum keeps
    more than the expected share of yes (its threshold is half the F1 it reaches; Lipton et
    al., 2014)."""
    ranked = np.sort(np.asarray(probabilities, dtype=np.float64))[::-1]
    if not len(ranked) or ranked.sum() <= 0:
        return 0.0
    kept = np.arange(1, len(ranked) + 1)
    expected_f1 = 2 * np.cumsum(ranked) / (kept + ranked.sum())
    return float((int(np.argmax(expected_f1)) + 1) / len(ranked))


def _candidates(mistakes: int) -> np.ndarray:
    """Without a single held-out mistake the likelihood only grows as the temperature falls,
    so the fit would always sharpen to the smallest candidate (agnews-sports: 0.25, making the
    test confidences worse); such a slice cannot justify sharpening at all."""
    return TEMPERATURES if mistakes else np.concatenate(([1.0], TEMPERATURES[TEMPERATURES > 1.0]))


def _label_mistakes(
    encoded: Encoded,
    logits: WindowLogits,
    held_out: Sequence[Example],
    config: ProxyConfig,
    offset: float,
) -> int:
    results = doc_labels(encoded, logits, config, 1.0, offset)
    return sum(r.value != bool(e.label) for r, e in zip(results, held_out, strict=True))


def _label_loss(
    encoded: Encoded,
    logits: WindowLogits,
    held_out: Sequence[Example],
    config: ProxyConfig,
    temperature: float,
    offset: float,
) -> float:
    loss = 0.0
    for result, example in zip(
        doc_labels(encoded, logits, config, temperature, offset), held_out, strict=True
    ):
        p = min(max(result.probability, 1e-7), 1 - 1e-7)
        loss -= float(np.log(p if example.label else 1 - p))
    return loss / len(held_out)


def doc_labels(
    encoded: Encoded,
    logits: WindowLogits,
    config: ProxyConfig,
    temperature: float,
    offset: float = 0.0,
) -> list[LabelResult]:
    """One answer per text, its windows aggregated as at inference."""
    probabilities = logits.label_probabilities(temperature, offset)
    return [
        aggregate_label(
            [float(probabilities[w]) for w in doc.windows],
            config.label_aggregation,
            config.label_threshold,
        )
        for doc in encoded.docs
    ]


def _tag_rows(
    encoded: Encoded, logits: WindowLogits, held_out: Sequence[Example]
) -> tuple[np.ndarray, np.ndarray]:
    """Every (window, word) tag logit row with its gold tag."""
    rows: list[np.ndarray] = []
    targets: list[int] = []
    for doc, example in zip(encoded.docs, held_out, strict=True):
        tags = word_tags(doc, example.spans or ())
        for w in doc.windows:
            rows.append(logits.tags[w])
            targets.extend(tags.get(word, 0) for word in encoded.windows[w].words)
    if not targets:
        return np.zeros((0, 3)), np.zeros(0, dtype=np.int64)
    return np.concatenate(rows).astype(np.float64), np.asarray(targets, dtype=np.int64)


def _tag_loss(rows: np.ndarray, targets: np.ndarray, temperature: float) -> float:
    scaled = rows / temperature
    scaled -= scaled.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(scaled).sum(axis=1))
    return float(np.mean(log_norm - scaled[np.arange(len(targets)), targets]))
