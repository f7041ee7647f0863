"""ONNX Runtime inference is used only after it is shown to agree with PyTorch."""

from __future__ import annotations

from pathlib import Path

import pytest

from falconer.core import Example, Span, TaskData
from falconer.proxy import Proxy, TrainConfig

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
    report = proxy.accelerate({"Extract people.": TEXTS, "Laptops?": TEXTS}, tmp_path, int8=False)
    assert report.used and report.runtime == "onnx"
    assert report.agreement == {"Extract people.": 1.0, "Laptops?": 1.0}
    after = proxy.get_span(TEXTS, "Extract people.")
    assert [[s.key for s in r.spans] for r in after] == [[s.key for s in r.spans] for r in before]


def test_onnx_is_refused_when_agreement_is_below_the_bar(proxy: Proxy, tmp_path: Path) -> None:
    serving = proxy.runtime
    report = proxy.accelerate({"Extract people.": TEXTS}, tmp_path, int8=True, min_agreement=1.01)
    assert not report.used
    assert report.runtime == "torch"
    assert "< 1.01" in report.reason
    assert proxy.runtime is serving
