"""Plain data types shared by every layer; imports nothing above it."""

from falconer.core.documents import Document
from falconer.core.errors import FalconerError, InputError
from falconer.core.results import LabelResult, SpanResult
from falconer.core.spans import Span
from falconer.core.tasks import Example, Kind, TaskData

__all__ = [
    "Document",
    "Example",
    "FalconerError",
    "InputError",
    "Kind",
    "LabelResult",
    "Span",
    "SpanResult",
    "TaskData",
]
