"""What the embedded LLM's context per request costs: load it with CONTEXT tokens a slot (2
slots, 2 threads), time a short request, a second short one (its prefix cached) and one of
about 2,800 tokens, then a request past the context; print the process's peak memory.

Usage: python embedded_context.py CONTEXT OUT.json   (run once per CONTEXT, e.g. 2048, 8192)
"""

import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

from falconer.llm.embedded import EmbeddedBackend

SENTENCE = (
    "The committee met in the town hall to discuss the budget for the coming year and the "
    "repairs of the old bridge . "
)


def ask(backend: EmbeddedBackend, text: str) -> dict[str, Any]:
    question = f"Does this text mention a bridge? Answer yes or no.\n\n{text}"
    body = {"messages": [{"role": "user", "content": question}], "temperature": 0, "max_tokens": 4}
    started = time.perf_counter()
    answer = backend._complete(body)
    seconds = round(time.perf_counter() - started, 2)
    error = answer.get("error")
    if error:
        return {
            "seconds": seconds,
            "error": error.get("type"),
            "tokens": error.get("n_prompt_tokens"),
        }
    return {"seconds": seconds, "tokens": answer["usage"]["prompt_tokens"]}


def main() -> None:
    context, out = int(sys.argv[1]), Path(sys.argv[2])
    backend = EmbeddedBackend(threads=2, slots=2, context_per_slot=context)
    started = time.perf_counter()
    backend._load()
    result: dict[str, Any] = {"context_per_slot": context}
    result["load_seconds"] = round(time.perf_counter() - started, 2)
    result["short"] = ask(backend, SENTENCE * 3)
    result["short_again"] = ask(backend, "Our cat sleeps all day .")
    result["long"] = ask(backend, SENTENCE * 120)
    result["past_context"] = ask(backend, SENTENCE * 500)
    result["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(json.dumps(result, indent=1))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
