"""Falconer: instruction-driven knowledge mining at corpus scale.

An LLM plans and annotates a sample; one small instruction-following encoder (the proxy)
then answers `get_label` / `get_span` over the whole corpus on CPU.
"""

from falconer.core import Document, Example, LabelResult, Span, SpanResult, TaskData

__version__ = "0.1.0"

__all__ = [
    "Document",
    "Example",
    "LabelResult",
    "Span",
    "SpanResult",
    "TaskData",
    "__version__",
]
