"""What the embedded-LLM experiments share: the client `falconer bench annotator` uses (2
threads, 2 slots, the user's LLM cache), so a script rerun after the bench costs no LLM call."""

from falconer.llm.cache import ResponseCache, default_cache_path
from falconer.llm.client import LLMClient
from falconer.llm.registry import create_backend


def cached_client() -> LLMClient:
    backend = create_backend("embedded", threads=2, slots=2)
    return LLMClient(backend, cache=ResponseCache(default_cache_path()))
