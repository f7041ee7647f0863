"""The corpus bundled with the package (CC-BY 4.0 WikiGold sentences, see data/README.md)."""

from __future__ import annotations

import json
from importlib import resources

from falconer.core.documents import Document


def bundled_corpus() -> list[Document]:
    source = resources.files("falconer") / "data" / "wikigold.jsonl"
    with source.open(encoding="utf-8") as lines:
        rows = [json.loads(line) for line in lines if line.strip()]
    return [Document(str(row["id"]), row["text"]) for row in rows]
