"""LLM access: one small interface, backends behind a registry, cache, validation, accounting."""

from falconer.llm.base import (
    BackendUnavailableError,
    ChatRequest,
    ChatResponse,
    InvalidAnswerError,
    LLMBackend,
    LLMError,
    Message,
    TokenUsage,
    TransientLLMError,
)
from falconer.llm.cache import ResponseCache
from falconer.llm.client import Answer, LLMClient
from falconer.llm.registry import create_backend, register
from falconer.llm.structured import InvalidOutputError, json_parser
from falconer.llm.usage import PriceTable, UsageMeter

__all__ = [
    "Answer",
    "BackendUnavailableError",
    "ChatRequest",
    "ChatResponse",
    "InvalidAnswerError",
    "InvalidOutputError",
    "LLMBackend",
    "LLMClient",
    "LLMError",
    "Message",
    "PriceTable",
    "ResponseCache",
    "TokenUsage",
    "TransientLLMError",
    "UsageMeter",
    "create_backend",
    "json_parser",
    "register",
]
