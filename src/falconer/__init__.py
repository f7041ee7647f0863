"""Falconer: instruction-driven knowledge mining at corpus scale.

An LLM plans and annotates a sample; one small instruction-following encoder (the proxy)
then answers `get_label` / `get_span` over the whole corpus on CPU.
"""

from __future__ import annotations

from typing import Any

from falconer.core import Document, Example, LabelResult, Span, SpanResult, TaskData

__version__ = "0.1.0"

_API = {"mine", "apply", "get_label", "get_span", "MineResult"}


def __getattr__(name: str) -> Any:
    """The API pulls in torch and transformers; load it on first use, not on `import falconer`
    (so the CLI's --help stays fast)."""
    if name in _API:
        from falconer import api

        return getattr(api, name)
    if name in ("Proxy", "Plan"):
        from falconer.plan import Plan
        from falconer.proxy import Proxy

        return {"Proxy": Proxy, "Plan": Plan}[name]
    raise AttributeError(f"module 'falconer' has no attribute {name!r}")


__all__ = [
    "Document",
    "Example",
    "LabelResult",
    "MineResult",
    "Plan",
    "Proxy",
    "Span",
    "SpanResult",
    "TaskData",
    "__version__",
    "apply",
    "get_label",
    "get_span",
    "mine",
]
