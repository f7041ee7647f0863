"""A faster runtime (bfloat16, ONNX fp32 or int8) is used only after it is shown to agree with
PyTorch fp32."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from falconer.core import Example, Span, TaskData
from falconer.core.errors import InputError
from falconer.proxy import Proxy, TrainConfig
from falconer.proxy import proxy as proxy_module
from falconer.proxy.inference import text_logits
from falconer.proxy.runtimes import (
    Bfloat16Runtime,
    GuardedInt8Runtime,
    OnnxRuntime,
    RuntimeSpec,
    TorchRuntime,
    native_bfloat16,
)

pytestmark = pytest.mark.slow

TEXTS = [
    "Alice Smith met Bob Jones in Paris on Monday .",
    "Carol King sang at the festival in Berlin .",
    "The battery life of this laptop is great .",
    "Shares of Acme Corp rose 5 % after the report .",
]


@pytest.fixture(scope="module")
def proxy() -> Proxy:
    proxy = Proxy.from_pretrained("default", threads=2)
    people = [
        Example(TEXTS[0], spans=(Span.of(TEXTS[0], 0, 11), Span.of(TEXTS[0], 16, 25))),
        Example(TEXTS[1], spans=(Span.of(TEXTS[1], 0, 10),)),
        Example(TEXTS[2], spans=()),
        Example(TEXTS[3], spans=()),
    ] * 4
    laptops = [Example(t, label="laptop" in t) for t in TEXTS] * 4
    proxy.fit(
        [TaskData("Extract people.", "span", people), TaskData("Laptops?", "label", laptops)],
        config=TrainConfig(min_steps=30, dev_fraction=0.0),
    )
    return proxy


def test_fp32_onnx_agrees_fully_and_takes_over_inference(proxy: Proxy, tmp_path: Path) -> None:
    before = proxy.get_span(TEXTS, "Extract people.")
    report = proxy.accelerate({"Extract people.": TEXTS, "Laptops?": TEXTS}, tmp_path, "onnx")
    assert report.used and report.runtime == "onnx"
    assert report.agreement == {"Extract people.": 1.0, "Laptops?": 1.0}
    after = proxy.get_span(TEXTS, "Extract people.")
    assert [[s.key for s in r.spans] for r in after] == [[s.key for s in r.spans] for r in before]


def test_onnx_is_refused_when_agreement_is_below_the_bar(proxy: Proxy, tmp_path: Path) -> None:
    serving = proxy.runtime
    report = proxy.accelerate({"Extract people.": TEXTS}, tmp_path, "onnx-int8", min_agreement=1.01)
    assert not report.used
    assert report.runtime == "torch"
    assert "< 1.01" in report.reason
    assert proxy.runtime is serving


@pytest.mark.skipif(not native_bfloat16(), reason="this CPU has no native bfloat16")
def test_bfloat16_takes_over_inference_with_the_same_answers(proxy: Proxy, tmp_path: Path) -> None:
    before = proxy.get_span(TEXTS, "Extract people.")
    report = proxy.accelerate({"Extract people.": TEXTS}, tmp_path, "bf16")
    assert report.used and report.runtime == proxy.runtime.name == "bf16"
    assert report.agreement == {"Extract people.": 1.0}
    after = proxy.get_span(TEXTS, "Extract people.")
    assert [[s.key for s in r.spans] for r in after] == [[s.key for s in r.spans] for r in before]
    assert next(proxy.model.parameters()).dtype == torch.float32  # training stays in fp32
    proxy.runtime = TorchRuntime(proxy.model)


def test_bfloat16_is_refused_on_a_cpu_that_would_emulate_it(
    proxy: Proxy, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(proxy_module, "native_bfloat16", lambda: False)
    report = proxy.accelerate({"Extract people.": TEXTS}, tmp_path, "bf16")
    assert not report.used and report.runtime == "torch"
    assert "no native bfloat16" in report.reason
    with pytest.raises(InputError, match="cannot accelerate"):
        proxy.accelerate({"Extract people.": TEXTS}, tmp_path, "tensorrt")


def test_another_process_rebuilds_the_checked_runtime_from_its_spec(proxy: Proxy) -> None:
    assert isinstance(RuntimeSpec("bf16").build(proxy.model), Bfloat16Runtime)
    assert isinstance(RuntimeSpec().build(proxy.model), TorchRuntime)
    with pytest.raises(ValueError, match="onnx"):
        RuntimeSpec("onnx").build(proxy.model)  # ONNX needs the graph it was checked with


def test_guarded_int8_answers_like_fp32_where_it_recomputes_and_like_int8_elsewhere(
    proxy: Proxy, tmp_path: Path
) -> None:
    report = proxy.accelerate({"Laptops?": TEXTS}, tmp_path, "onnx-int8", min_agreement=0.0)
    guarded = proxy.runtime
    assert report.used and isinstance(guarded, GuardedInt8Runtime)
    assert "recomputed in fp32" in report.reason and set(guarded.margins) == {"Laptops?"}
    assert guarded.windows_seen == 2  # the margin was fitted on the other half of the texts
    # whichever fp32 ran sooner here recomputes: PyTorch, or the checked fp32 ONNX graph
    fp32 = guarded.reference
    assert isinstance(fp32, TorchRuntime) or fp32.path == tmp_path / "proxy.onnx"  # type: ignore[attr-defined]
    assert guarded.recompute_engine in report.reason
    int8 = guarded.fast
    texts = TEXTS * 3

    def logits(runtime: object, margin: float, instruction: str = "Laptops?") -> np.ndarray:
        if isinstance(runtime, GuardedInt8Runtime):
            runtime.margins[instruction] = margin
        run = text_logits(runtime, proxy.tokenizer, proxy.config, instruction, texts)[1]
        return run.label if instruction == "Laptops?" else np.concatenate(run.tags)

    assert np.array_equal(logits(guarded, np.inf), logits(fp32, 0.0))
    assert np.array_equal(logits(guarded, 0.0), logits(int8, 0.0))
    assert not np.array_equal(logits(int8, 0.0), logits(fp32, 0.0))
    people = "Extract people."
    assert np.array_equal(logits(guarded, np.inf, people), logits(fp32, 0.0, people))
    proxy.runtime = fp32


def test_int8_with_too_few_texts_to_measure_its_error_recomputes_everything(
    proxy: Proxy, tmp_path: Path
) -> None:
    one = proxy.accelerate({"Laptops?": TEXTS[:1]}, tmp_path, "onnx-int8")
    assert one.used and "100.0% of windows recomputed" in one.reason
    none = proxy.accelerate({"Laptops?": []}, tmp_path, "onnx-int8")
    assert not none.used and none.reason == "no held-out texts to check < 0.99"
    proxy.runtime = TorchRuntime(proxy.model)


def test_a_guarded_int8_runtime_is_rebuilt_with_its_margins(proxy: Proxy, tmp_path: Path) -> None:
    check = {"Laptops?": TEXTS, "Extract people.": TEXTS}
    assert proxy.accelerate(check, tmp_path, "onnx-int8", min_agreement=0.0).used
    spec = RuntimeSpec.of(proxy.runtime)
    assert spec.name == "onnx-int8" and spec.graph and spec.graph.endswith("proxy.int8.onnx")
    rebuilt = spec.build(proxy.model, threads=1)
    assert isinstance(rebuilt, GuardedInt8Runtime) and isinstance(rebuilt.fast, OnnxRuntime)
    assert rebuilt.margins == spec.margins == proxy.runtime.margins  # type: ignore[attr-defined]
    assert rebuilt.recompute_engine == proxy.runtime.recompute_engine  # type: ignore[attr-defined]
    served = proxy.get_span(TEXTS, "Extract people.")
    proxy.runtime = rebuilt
    again = proxy.get_span(TEXTS, "Extract people.")
    assert [r.spans for r in again] == [r.spans for r in served]
    proxy.runtime = TorchRuntime(proxy.model)


def test_a_guarded_int8_spec_recomputes_with_the_fp32_runtime_it_names(
    proxy: Proxy, tmp_path: Path
) -> None:
    assert proxy.accelerate({"Laptops?": TEXTS}, tmp_path, "onnx-int8", min_agreement=0.0).used
    spec = RuntimeSpec.of(proxy.runtime)
    by_onnx = RuntimeSpec(spec.name, spec.graph, spec.margins, str(tmp_path / "proxy.onnx"))
    by_torch = RuntimeSpec(spec.name, spec.graph, spec.margins, None)
    onnx_guard, torch_guard = by_onnx.build(proxy.model), by_torch.build(proxy.model)
    assert isinstance(onnx_guard, GuardedInt8Runtime)
    assert isinstance(torch_guard, GuardedInt8Runtime)
    assert isinstance(onnx_guard.reference, OnnxRuntime) and onnx_guard.reference.name == "onnx"
    assert isinstance(torch_guard.reference, TorchRuntime)
    assert RuntimeSpec.of(onnx_guard) == by_onnx and RuntimeSpec.of(torch_guard) == by_torch
    proxy.runtime = TorchRuntime(proxy.model)
