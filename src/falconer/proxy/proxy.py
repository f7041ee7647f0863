"""`Proxy`, the user-facing object: fit, get_label, get_span, save/from_pretrained."""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from transformers import AutoConfig, AutoModel, AutoTokenizer

from falconer.core.callbacks import Progress
from falconer.core.errors import InputError
from falconer.core.metrics import same_answer_share
from falconer.core.results import LabelResult, SpanResult
from falconer.core.spans import Span
from falconer.core.tasks import TaskData
from falconer.proxy.backbones import quiet_transformers, resolve_backbone
from falconer.proxy.batching import collate
from falconer.proxy.calibration import doc_labels, fit_filter_threshold
from falconer.proxy.config import ProxyConfig, TrainConfig
from falconer.proxy.encoding import Encoded, encode
from falconer.proxy.guard import fastest, fit_margin
from falconer.proxy.inference import (
    WindowLogits,
    WindowPredictions,
    calibrated,
    decision_logit,
    labels_from,
    predict_texts,
    spans_from,
    text_logits,
)
from falconer.proxy.model import ProxyModel
from falconer.proxy.runtimes import (
    FP32_GRAPH,
    INT8_GRAPH,
    RUNTIMES,
    Bfloat16Runtime,
    GuardedInt8Runtime,
    OnnxRuntime,
    Runtime,
    TorchRuntime,
    export_onnx,
    native_bfloat16,
    quantize_int8,
)
from falconer.proxy.training import Trainer, TrainReport

PROXY_FILE = "proxy.json"
HEADS_FILE = "heads.safetensors"
ENCODER_DIR = "encoder"
TOKENIZER_DIR = "tokenizer"


class UnseenInstructionWarning(UserWarning):
    """A proxy was asked an instruction it was not trained on."""


class Proxy:
    """One instruction-conditioned encoder that answers `get_label` and `get_span` for any
    instruction it was trained on (and, less reliably, for similar ones)."""

    name = "proxy"  # who answered, in results

    def __init__(
        self, model: ProxyModel, tokenizer: Any, config: ProxyConfig, threads: int | None = None
    ) -> None:
        if not getattr(tokenizer, "is_fast", False):
            raise InputError("the proxy needs a fast tokenizer (offset mappings); this one is slow")
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.last_report: TrainReport | None = None
        self.runtime: Runtime = TorchRuntime(self.model)
        set_threads(threads)

    @classmethod
    def from_pretrained(
        cls, path_or_backbone: str | Path = "default", threads: int | None = None, **overrides: Any
    ) -> Proxy:
        """A trained proxy folder (with `proxy.json`), or a backbone to put fresh heads on."""
        quiet_transformers()
        path = Path(str(path_or_backbone))
        if cls.is_saved(path):
            return cls._load(path, threads)
        config = ProxyConfig(backbone=str(path_or_backbone), **overrides)
        source = resolve_backbone(config.backbone)
        try:
            tokenizer = AutoTokenizer.from_pretrained(source, use_fast=True)
            encoder = AutoModel.from_pretrained(source)
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load backbone {config.backbone!r}: {error}") from error
        config.max_length = min(config.max_length, _model_max_length(tokenizer, encoder))
        model = ProxyModel(encoder, encoder.config.hidden_size)
        return cls(model, tokenizer, config, threads)

    @staticmethod
    def is_saved(folder: str | Path) -> bool:
        """Whether `folder` holds a proxy `save_pretrained` wrote (not a bare encoder)."""
        return (Path(folder) / PROXY_FILE).is_file()

    @staticmethod
    def check_source(path_or_backbone: str | Path) -> None:
        """Raise `InputError` now if `from_pretrained` could not load this, reading only its
        config: a run checks its backbones before the annotation that precedes training,
        which a mistyped folder would otherwise waste."""
        name = str(path_or_backbone)
        if Proxy.is_saved(name):
            return
        if name.startswith(("/", ".", "~")) and not Path(name).exists():
            raise InputError(f"backbone folder not found: {name}")
        try:
            AutoConfig.from_pretrained(resolve_backbone(name))
        except (OSError, ValueError) as error:
            raise InputError(f"cannot load backbone {name!r}: {error}") from error

    @classmethod
    def _load(cls, path: Path, threads: int | None) -> Proxy:
        try:
            config = ProxyConfig.from_dict(json.loads((path / PROXY_FILE).read_text()))
            tokenizer = AutoTokenizer.from_pretrained(path / TOKENIZER_DIR, use_fast=True)
            encoder = AutoModel.from_pretrained(path / ENCODER_DIR)
            heads = load_file(path / HEADS_FILE)
        # a folder cut short by a full disk or a half copy: say which, not where it broke
        except (OSError, ValueError, KeyError, TypeError, SafetensorError) as error:
            raise InputError(f"{path} is a damaged proxy folder: {error}") from error
        model = ProxyModel(encoder, encoder.config.hidden_size)
        missing, unexpected = model.load_state_dict(heads, strict=False)
        if unexpected or any(not k.startswith("encoder.") for k in missing):
            raise InputError(f"{path}: heads do not fit the encoder ({unexpected or missing})")
        return cls(model, tokenizer, config, threads)

    def save_pretrained(self, directory: str | Path) -> Path:
        """Encoder and tokenizer as plain Hugging Face folders, heads as safetensors."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        self.model.encoder.save_pretrained(out / ENCODER_DIR, safe_serialization=True)
        self.tokenizer.save_pretrained(out / TOKENIZER_DIR)
        heads = {
            k: v.contiguous()
            for k, v in self.model.state_dict().items()
            if not k.startswith("encoder.")
        }
        save_file(heads, out / HEADS_FILE)
        return self.save_config(out)

    def save_config(self, directory: str | Path) -> Path:
        """Only `proxy.json`: what a calibration after `save_pretrained` changed (thresholds,
        offsets, temperatures), without writing the weights again."""
        out = Path(directory)
        (out / PROXY_FILE).write_text(json.dumps(self.config.to_dict(), indent=2))
        return out

    def fit(
        self,
        tasks: Sequence[TaskData],
        unlabeled: Mapping[str, Sequence[str]] | None = None,
        config: TrainConfig | None = None,
        progress: Progress | None = None,
    ) -> TrainReport:
        """Fine-tune on all tasks at once; `unlabeled` (instruction -> texts) adds self-training."""
        if not tasks:
            raise InputError("nothing to train on: no tasks given")
        _check_one_kind_per_instruction(tasks)
        config = config or TrainConfig()
        set_threads(config.threads)
        self.runtime = TorchRuntime(self.model)
        report = Trainer(self.model, self.tokenizer, self.config, config, progress).fit(
            tasks, unlabeled
        )
        for task in tasks:
            if task.instruction not in self.config.instructions:
                self.config.instructions.append(task.instruction)
            self.config.kinds[task.instruction] = task.kind
        self.last_report = report
        return report

    def fit_filter_threshold(self, instruction: str, texts: Sequence[str]) -> float | None:
        """Make the label step a plan filters on say yes where that maximises the expected F1
        of what it lets through over `texts` (unannotated corpus texts), instead of at P(yes)
        0.5; the threshold set, or None when there are too few texts (it then says yes at the
        default `label_threshold`)."""
        self.config.label_thresholds.pop(instruction, None)
        threshold = fit_filter_threshold(
            self.runtime, self.tokenizer, self.config, instruction, texts
        )
        if threshold is not None:
            self.config.label_thresholds[instruction] = threshold
        return threshold

    def get_label(
        self, texts: Sequence[str], instruction: str, batch_size: int = 64
    ) -> list[LabelResult]:
        """Does each text satisfy the instruction? P(true) per text, windows aggregated."""
        if not _check_inputs(texts, instruction):
            return []
        self._warn_if_unseen(instruction)
        encoded, predictions = self._predict(texts, instruction, batch_size)
        return labels_from(encoded, predictions, self.config, instruction)

    def _warn_if_unseen(self, instruction: str) -> None:
        """A proxy answers the instructions it was trained on; another wording gets answers
        that may follow the nearest trained one or none (see results: instruction
        following), so say so rather than answer as if it knew."""
        if not self.config.kinds:
            warnings.warn(
                "the proxy has not been trained: its fresh heads answer at random (fit it, or "
                "load a trained proxy folder)",
                UnseenInstructionWarning,
                stacklevel=3,
            )
        elif instruction not in self.config.kinds:
            trained = ", ".join(repr(known) for known in list(self.config.kinds)[:5])
            warnings.warn(
                f"the proxy was not trained on {instruction!r}; its answers may not follow it "
                f"(trained on: {trained})",
                UnseenInstructionWarning,
                stacklevel=3,
            )

    def annotator_probabilities(
        self, texts: Sequence[str], instruction: str, batch_size: int = 64
    ) -> list[float]:
        """The proxy's estimate of what its annotator would give as P(yes) for each text: the
        label head regressed on the annotator's P(yes), read back on that scale (the training
        stretch undone) instead of re-centred and sharpened into decisions as `get_label`
        reads it. A teacher hands these to the proxy it teaches, which learns them beside the
        annotator's own P(yes); the decision-ready ones sit on another scale (see
        `proxy.distillation`). A proxy taught yes/no alone estimates P(yes) by its calibrated
        confidence, `get_label`'s."""
        if instruction not in self.config.target_stretches:
            return [r.probability for r in self.get_label(texts, instruction, batch_size)]
        if not _check_inputs(texts, instruction):
            return []
        encoded, logits = text_logits(
            self.runtime, self.tokenizer, self.config, instruction, texts, batch_size
        )
        stretch = self.config.target_stretches[instruction]  # divides the logits, as T does
        return [r.probability for r in doc_labels(encoded, logits, self.config, stretch)]

    def get_span(
        self, texts: Sequence[str], instruction: str, batch_size: int = 64
    ) -> list[SpanResult]:
        """The parts of each text the instruction asks for, as character offsets into it."""
        if not _check_inputs(texts, instruction):
            return []
        self._warn_if_unseen(instruction)
        encoded, predictions = self._predict(texts, instruction, batch_size)
        return spans_from(list(texts), encoded, predictions)

    def accelerate(
        self,
        check: Mapping[str, Sequence[str]],
        directory: str | Path,
        runtime: str = "onnx-int8",
        min_agreement: float = 0.99,
    ) -> AccelerationReport:
        """Serve inference from `runtime` (bf16, onnx or onnx-int8), but only if it agrees
        with PyTorch fp32 on >= `min_agreement` of the held-out texts in `check` (instruction
        -> texts), per instruction; otherwise keep PyTorch and say why. onnx-int8 is guarded:
        windows nearer a decision than int8's error are answered again in fp32, its margins
        fitted on the first half of each instruction's texts and checked on the second. ONNX
        graphs are written under `directory`."""
        if runtime not in RUNTIMES or runtime == "torch":
            raise InputError(f"cannot accelerate to {runtime!r}; use bf16, onnx or onnx-int8")
        if runtime == "bf16" and not native_bfloat16():
            why = "this CPU has no native bfloat16 (AVX512-BF16 or AMX), where it is slower"
            return AccelerationReport("torch", False, {}, why)
        check = {instruction: texts for instruction, texts in check.items() if texts}
        candidate = self._candidate(runtime, Path(directory))
        reference = TorchRuntime(self.model)
        if isinstance(candidate, OnnxRuntime) and runtime == "onnx-int8":
            candidate, check = self._guard(candidate, reference, check)
        agreement = {
            instruction: self._agreement(reference, candidate, instruction, list(texts))
            for instruction, texts in check.items()
        }
        worst = min(agreement.values(), default=0.0)
        why = "no held-out texts to check" if not agreement else f"agreement {worst:.4f}"
        if agreement and isinstance(candidate, GuardedInt8Runtime):
            why += f", {candidate.recomputed_share:.1%} of windows recomputed in fp32"
            why += f" ({candidate.recompute_engine})"
        if not agreement or worst < min_agreement:
            return AccelerationReport("torch", False, agreement, f"{why} < {min_agreement}")
        self.runtime = candidate
        return AccelerationReport(candidate.name, True, agreement, why)

    def _candidate(self, runtime: str, folder: Path) -> Runtime:
        if runtime == "bf16":
            return Bfloat16Runtime(self.model)
        sample = collate(encode(self.tokenizer, ["x"], ["x y"], 32, 8).windows, self._pad_id)
        graph = export_onnx(self.model, sample, folder / FP32_GRAPH)
        if runtime == "onnx-int8":
            graph = quantize_int8(graph, folder / INT8_GRAPH)
        return OnnxRuntime(graph, torch.get_num_threads(), runtime)

    def _guard(
        self,
        int8: OnnxRuntime,
        reference: Runtime,
        check: Mapping[str, Sequence[str]],
    ) -> tuple[GuardedInt8Runtime, dict[str, list[str]]]:
        """int8 guarded by fp32 near decisions, its margins fitted on the first half of each
        instruction's texts so that the guarded answers agree on all of them; the second half
        is left for the check. int8 flips few answers near the margin, so a margin that leaves
        one flip unmended is set by chance: on 250 texts, fitted to 0.995 it passed the check
        on 5, 7 and 6 of 10 random halvings for three proxies, fitted to all texts on 9, 10 and
        8; on 500, on 8, 8, 7 and 10, 10, 10 (results/proxy/int8-margin-fit-*.json and
        int8-margin-fit-1000-*.json). The guarded windows are recomputed
        by whichever fp32 runtime, PyTorch or ONNX Runtime, answered the first texts sooner
        here."""
        margins: dict[str, float] = {}
        rest: dict[str, list[str]] = {}
        for instruction, texts in check.items():
            half = len(texts) // 2
            rest[instruction] = list(texts[half:])
            margins[instruction] = self._int8_margin(
                int8, reference, instruction, list(texts[:half])
            )
        recompute = self._faster_fp32(int8, reference, check)
        return GuardedInt8Runtime(int8, recompute, margins), rest

    def _faster_fp32(
        self, int8: OnnxRuntime, reference: Runtime, check: Mapping[str, Sequence[str]]
    ) -> Runtime:
        instruction, texts = next(iter(check.items()), ("", []))
        sample = list(texts[:128])
        if not sample:
            return reference
        onnx_fp32 = OnnxRuntime(int8.path.with_name(FP32_GRAPH), torch.get_num_threads(), "onnx")
        return fastest((reference, onnx_fp32), lambda r: self._logits(sample, instruction, r))

    def _int8_margin(
        self,
        int8: Runtime,
        reference: Runtime,
        instruction: str,
        texts: list[str],
    ) -> float:
        """The smallest margin at which the guarded answers agree with fp32 on all `texts`."""
        if not texts:
            return math.inf  # int8's error unmeasured: fp32 answers everything
        kind = self.config.kinds.get(instruction, "label")
        encoded, expected = self._logits(texts, instruction, reference)
        return fit_margin(
            expected,
            self._logits(texts, instruction, int8)[1],
            lambda logits: self._answers_from(texts, instruction, kind, encoded, logits),
            kind,
            decision_logit(self.config, instruction),
            min_agreement=1.0,
        )

    def _agreement(
        self, reference: Runtime, candidate: Runtime, instruction: str, texts: list[str]
    ) -> float:
        kind = self.config.kinds.get(instruction, "label")
        answers = [
            self._answers_from(texts, instruction, kind, *self._logits(texts, instruction, r))
            for r in (reference, candidate)
        ]
        return same_answer_share(kind, *answers)

    def _logits(
        self, texts: list[str], instruction: str, runtime: Runtime
    ) -> tuple[Encoded, WindowLogits]:
        return text_logits(runtime, self.tokenizer, self.config, instruction, texts, 64)

    def _answers_from(
        self, texts: list[str], instruction: str, kind: str, encoded: Encoded, logits: WindowLogits
    ) -> list[bool] | list[tuple[Span, ...]]:
        predictions = calibrated(logits, self.config, instruction)
        if kind == "label":
            return [r.value for r in labels_from(encoded, predictions, self.config, instruction)]
        return [r.spans for r in spans_from(texts, encoded, predictions)]

    @property
    def _pad_id(self) -> int:
        return int(self.tokenizer.pad_token_id or 0)

    def _predict(
        self,
        texts: Sequence[str],
        instruction: str,
        batch_size: int,
        runtime: Runtime | None = None,
    ) -> tuple[Encoded, WindowPredictions]:
        return predict_texts(
            runtime or self.runtime, self.tokenizer, self.config, instruction, texts, batch_size
        )


def set_threads(threads: int | None) -> None:
    if threads is not None:
        if threads < 1:
            raise InputError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)


def _model_max_length(tokenizer: Any, encoder: Any) -> int:
    limits = [getattr(encoder.config, "max_position_embeddings", 512), tokenizer.model_max_length]
    return int(min(x for x in limits if isinstance(x, int) and x > 0))


@dataclass(slots=True)
class AccelerationReport:
    """Whether inference moved off PyTorch fp32, and how well the new runtime agreed with it."""

    runtime: str
    used: bool
    agreement: dict[str, float]
    reason: str


def _check_one_kind_per_instruction(tasks: Sequence[TaskData]) -> None:
    """The proxy answers by instruction, so one instruction is a yes/no question or a request
    for spans, never both; the kind learned last would silently win."""
    kinds: dict[str, str] = {}
    for task in tasks:
        if kinds.setdefault(task.instruction, task.kind) != task.kind:
            raise InputError(
                f"{task.instruction!r} is given as both a label and a span task: word them apart"
            )


def _check_inputs(texts: Sequence[str], instruction: str) -> bool:
    """Bad input is an InputError; False when there is nothing to answer (a tokenizer fails
    on an empty batch)."""
    if isinstance(texts, str):
        raise InputError("texts must be a list of strings, not one string")
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            # a tokenizer reads None as an empty text and answers it: a missing value (a
            # pandas NaN, a null JSON field) would get a confident answer of its own
            raise InputError(f"texts[{index}] is {type(text).__name__}, not a string")
    if not isinstance(instruction, str) or not instruction.strip():
        raise InputError("instruction is empty")
    return len(texts) > 0
