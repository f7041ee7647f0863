"""Persistent response cache, so repeating a run (or retraining a proxy) costs no LLM calls.

Keyed by backend, model, prompt-template version, messages and sampling parameters. Only
answers that passed validation are stored: a failure is never cached, so a rerun retries it.
Rows hold the answer text and token counts, never request headers (no API key can land here).
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from falconer.core.artifacts import cache_dir
from falconer.llm.base import ChatRequest, TokenUsage

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    backend TEXT NOT NULL,
    model TEXT NOT NULL,
    template_version TEXT NOT NULL,
    text TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    logprobs TEXT NOT NULL,
    created REAL NOT NULL
)
"""


def default_cache_path() -> Path:
    return cache_dir() / "llm-responses.sqlite"


@dataclass(frozen=True, slots=True)
class CachedAnswer:
    text: str
    usage: TokenUsage
    logprobs_json: str


def cache_key(backend: str, model: str, template_version: str, request: ChatRequest) -> str:
    material = "\x1f".join((backend, model, template_version, request.fingerprint()))
    return hashlib.sha256(material.encode("utf-8")).hexdigest()


class ResponseCache:
    """SQLite file shared by runs; safe across threads of one process and across processes."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)
        self._db.commit()

    def get(self, key: str) -> CachedAnswer | None:
        with self._lock:
            row = self._db.execute(
                "SELECT text, prompt_tokens, completion_tokens, logprobs FROM responses"
                " WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return CachedAnswer(row[0], TokenUsage(int(row[1]), int(row[2])), row[3])

    def put(
        self,
        key: str,
        *,
        backend: str,
        model: str,
        template_version: str,
        answer: CachedAnswer,
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    backend,
                    model,
                    template_version,
                    answer.text,
                    answer.usage.prompt_tokens,
                    answer.usage.completion_tokens,
                    answer.logprobs_json,
                    time.time(),
                ),
            )
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()
