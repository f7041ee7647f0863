"""What executes the network at inference: PyTorch (fp32 or bfloat16), or ONNX Runtime (fp32
or int8, the latter guarded by fp32 on the windows int8 could answer wrongly).

Training always runs in PyTorch fp32; any other runtime is only used after it has been shown
to agree with the fp32 model (see `Proxy.accelerate`).
"""

from __future__ import annotations

import copy
import logging
import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from falconer.proxy.batching import Batch
from falconer.proxy.model import ProxyModel

RUNTIMES = ("torch", "bf16", "onnx", "onnx-int8")
FP32_GRAPH, INT8_GRAPH = "proxy.onnx", "proxy.int8.onnx"


class Runtime(Protocol):
    name: str

    def __call__(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        """Label logits [batch] and tag logits [batch, tokens, 3]."""
        ...


class TorchRuntime:
    name = "torch"

    def __init__(self, model: ProxyModel) -> None:
        self.model = model

    def __call__(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        was_training = self.model.training
        self.model.eval()
        with torch.inference_mode():
            output = self.model(**batch.inputs())
        self.model.train(was_training)
        return output.label_logits.float().numpy(), output.tag_logits.float().numpy()


class Bfloat16Runtime:
    """The encoder in bfloat16; embeddings, pooling and heads stay in fp32 (a bfloat16 mean
    over a sentence's tokens moved sst2 labels). On CPUs with native bfloat16 (AVX512-BF16,
    AMX) this ran proxies about twice as fast as fp32 keeping >= 99% of their answers, where
    int8 ONNX alone moved 2-14% of them (results/proxy/runtimes-*.json)."""

    name = "bf16"

    def __init__(self, model: ProxyModel) -> None:
        self.model = copy.deepcopy(model).eval()
        self.model.encoder = _Bfloat16Encoder(self.model.encoder)

    def __call__(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            output = self.model(**batch.inputs())
        return output.label_logits.numpy(), output.tag_logits.numpy()


class _Bfloat16Encoder(torch.nn.Module):
    def __init__(self, encoder: torch.nn.Module) -> None:
        super().__init__()
        self.encoder: Any = encoder.to(torch.bfloat16)

    def get_input_embeddings(self) -> torch.nn.Module:
        return _Float32(self.encoder.get_input_embeddings())

    def forward(self, inputs_embeds: torch.Tensor, **inputs: Any) -> Any:
        output = self.encoder(inputs_embeds=inputs_embeds.to(torch.bfloat16), **inputs)
        output.last_hidden_state = output.last_hidden_state.float()
        return output


class _Float32(torch.nn.Module):
    def __init__(self, module: torch.nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.module(*inputs).float()  # type: ignore[no-any-return]


def native_bfloat16() -> bool:
    """Whether this CPU computes in bfloat16 natively; elsewhere bfloat16 is emulated, slower
    than fp32."""
    cpu: Any = torch.cpu
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(bool(getattr(cpu, check, lambda: False)()) for check in checks)


class OnnxRuntime:
    """An ONNX Runtime session over an exported proxy graph, on the CPU."""

    def __init__(self, path: Path, threads: int | None = None, name: str = "onnx") -> None:
        import onnxruntime

        options = onnxruntime.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = onnxruntime.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.name = name
        self.path = path

    def __call__(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        tensors = batch.inputs()
        feed = {name: _numpy(tensors[name]) for name in self.input_names}
        label_logits, tag_logits = self.session.run(None, feed)
        return np.asarray(label_logits), np.asarray(tag_logits)


class GuardedInt8Runtime:
    """int8 ONNX Runtime answers every window first; the windows whose answer lies closer to a
    decision than int8's measured error (`margins`, per instruction, in logits) are answered
    again in fp32 by `reference`, PyTorch or ONNX Runtime (`inference.text_logits`). Dynamic
    int8 moves a proxy's logits by up to 1-3 (a per-tensor activation scale is coarse for these
    encoders), flipping 2-14% of answers; the few windows near a decision are where the flips
    are."""

    name = "onnx-int8"

    def __init__(self, fast: OnnxRuntime, reference: Runtime, margins: Mapping[str, float]):
        self.fast = fast
        self.reference = reference
        self.margins = dict(margins)
        self.path = fast.path
        self.windows_seen = self.windows_recomputed = 0

    def __call__(self, batch: Batch) -> tuple[np.ndarray, np.ndarray]:
        return self.fast(batch)

    @property
    def recompute_engine(self) -> str:
        return "ONNX Runtime" if isinstance(self.reference, OnnxRuntime) else "PyTorch"

    def reset_counts(self) -> None:
        self.windows_seen = self.windows_recomputed = 0

    def count(self, seen: int, recomputed: int) -> None:
        self.windows_seen += seen
        self.windows_recomputed += recomputed

    @property
    def recomputed_share(self) -> float:
        return self.windows_recomputed / max(self.windows_seen, 1)

    def margin(self, instruction: str) -> float:
        """An instruction whose error was never measured is recomputed whole."""
        return self.margins.get(instruction, math.inf)


@dataclass(frozen=True, slots=True)
class RuntimeSpec:
    """What another process needs to rebuild a checked runtime (a Ray actor serving what the
    driver chose): its name, the ONNX graph it was checked with, int8's margins, and the fp32
    ONNX graph that recomputes int8's borderline windows (None: PyTorch does)."""

    name: str = "torch"
    graph: str | None = None
    margins: dict[str, float] = field(default_factory=dict)
    recompute_graph: str | None = None

    @classmethod
    def of(cls, runtime: Runtime) -> RuntimeSpec:
        graph = getattr(runtime, "path", None)
        if not isinstance(runtime, GuardedInt8Runtime):
            return cls(runtime.name, None if graph is None else str(graph))
        recompute = getattr(runtime.reference, "path", None)
        recompute_graph = None if recompute is None else str(recompute)
        return cls(runtime.name, str(graph), dict(runtime.margins), recompute_graph)

    def build(self, model: ProxyModel, threads: int | None = None) -> Runtime:
        if self.name == "torch":
            return TorchRuntime(model)
        if self.name == "bf16":
            return Bfloat16Runtime(model)
        if self.name in RUNTIMES and self.graph is not None:
            onnx = OnnxRuntime(Path(self.graph), threads, self.name)
            if self.name == "onnx-int8":
                reference: Runtime = TorchRuntime(model)
                if self.recompute_graph is not None:
                    reference = OnnxRuntime(Path(self.recompute_graph), threads, "onnx")
                return GuardedInt8Runtime(onnx, reference, self.margins)
            return onnx
        raise ValueError(f"cannot rebuild runtime {self.name!r} (graph: {self.graph})")


def _numpy(tensor: torch.Tensor | None) -> np.ndarray:
    if tensor is None:
        raise ValueError("the exported graph expects an input this batch does not have")
    return tensor.numpy()


class _Exportable(torch.nn.Module):
    def __init__(self, model: ProxyModel) -> None:
        super().__init__()
        self.model = model

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        named = dict(zip(self.names, inputs, strict=True))
        output = self.model(**named)
        return output.label_logits, output.tag_logits

    names: tuple[str, ...] = ()


def export_onnx(model: ProxyModel, sample: Batch, path: Path) -> Path:
    """Trace the proxy to ONNX with dynamic batch and sequence axes."""
    tensors = {k: v for k, v in sample.inputs().items() if v is not None}
    wrapper = _Exportable(model.eval())
    wrapper.names = tuple(tensors)
    axes: dict[str, Any] = {name: {0: "batch", 1: "tokens"} for name in tensors}
    axes |= {"label_logits": {0: "batch"}, "tag_logits": {0: "batch", 1: "tokens"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    # the tracer warns about shape-dependent Python branches in transformers' masking code;
    # the agreement check, not the warning, is what decides whether the graph is used
    with torch.inference_mode(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper,
            tuple(tensors.values()),
            str(path),
            input_names=list(tensors),
            output_names=["label_logits", "tag_logits"],
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
    return path


def quantize_int8(
    source: Path,
    target: Path,
    keep_fp32: Sequence[str] = (),
    extra_options: Mapping[str, Any] | None = None,
) -> Path:
    """Dynamic int8 quantization of the weights of matrix multiplications, per output channel
    and in 7 bits: x86 CPUs without VNNI saturate the 8-bit products otherwise (an sst2 proxy
    on such a CPU: agreement with fp32 0.961 -> 0.976 at the same speed; with VNNI, 8 and 7
    bits agree alike, scripts/experiments/runtime_variants.py). `keep_fp32` names nodes left
    unquantized; `extra_options` go to ONNX Runtime's quantizer (experiments only)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # the quantizer advises pre-processing on the root logger; the agreement check decides
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        quantize_dynamic(
            str(source),
            str(target),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
            nodes_to_exclude=list(keep_fp32),
            extra_options=dict(extra_options or {}),
        )
    finally:
        root.setLevel(level)
    return target
