"""From the LLM spec a user types to a backend.

    embedded                                    the bundled Qwen2.5-Coder-0.5B (llama.cpp)
    gguf:/path/model.gguf                       any local GGUF, in-process
    openai:gpt-4.1-mini                         api.openai.com
    openai-compatible:http://host:8000/v1#model vLLM, SGLang, Ollama, llama.cpp server, ...

New backends register a factory under their prefix with `register`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from falconer.core.errors import InputError
from falconer.llm.base import LLMBackend
from falconer.llm.secrets import API_KEY_VARIABLES, api_key_from_environment

Factory = Callable[[str, dict[str, Any]], LLMBackend]
_FACTORIES: dict[str, Factory] = {}


def register(prefix: str, factory: Factory) -> None:
    _FACTORIES[prefix] = factory


def _embedded(rest: str, options: dict[str, Any]) -> LLMBackend:
    from falconer.llm.embedded import EmbeddedBackend

    if rest:
        raise InputError("`embedded` takes no argument; use gguf:/path/model.gguf for a file")
    return EmbeddedBackend(**options)


def _gguf(rest: str, options: dict[str, Any]) -> LLMBackend:
    from falconer.llm.embedded import EmbeddedBackend

    if not rest:
        raise InputError("gguf: needs a path, e.g. gguf:/models/qwen2.5-7b-instruct.gguf")
    return EmbeddedBackend(Path(rest).expanduser(), **options)


def _openai(rest: str, options: dict[str, Any]) -> LLMBackend:
    from falconer.llm.openai_compatible import OPENAI_BASE_URL, OpenAICompatibleBackend

    if not rest:
        raise InputError("openai: needs a model, e.g. openai:gpt-4.1-mini")
    if not (options.get("api_key") or api_key_from_environment()):
        names = " or ".join(reversed(API_KEY_VARIABLES))
        raise InputError(f"openai:{rest} needs an API key: set {names}")
    return OpenAICompatibleBackend(OPENAI_BASE_URL, rest, **options)


def _openai_compatible(rest: str, options: dict[str, Any]) -> LLMBackend:
    from falconer.llm.openai_compatible import OpenAICompatibleBackend

    url, _, model = rest.partition("#")
    if not url.startswith(("http://", "https://")) or not model:
        raise InputError(
            "openai-compatible: needs URL#MODEL, e.g. "
            "openai-compatible:http://localhost:8000/v1#Qwen2.5-7B-Instruct"
        )
    return OpenAICompatibleBackend(url, model, **options)


register("embedded", _embedded)
register("gguf", _gguf)
register("openai", _openai)
register("openai-compatible", _openai_compatible)

_LOCAL_OPTIONS = {"threads", "slots", "context_per_slot"}


def create_backend(spec: str, **options: Any) -> LLMBackend:
    """Build the backend a spec names; options that do not apply to its kind are dropped."""
    prefix, _, rest = spec.strip().partition(":")
    factory = _FACTORIES.get(prefix)
    if factory is None:
        raise InputError(
            f"unknown LLM spec {spec!r}; use one of: embedded, gguf:PATH, openai:MODEL, "
            "openai-compatible:URL#MODEL"
        )
    local = prefix in ("embedded", "gguf")
    kept = {k: v for k, v in options.items() if v is not None and (k in _LOCAL_OPTIONS) == local}
    return factory(rest, kept)
