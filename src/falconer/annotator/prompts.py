"""Prompt templates: versioned text files under `prompts/`, rendered into chat messages.

A template file has `[system]`, `[user]` and optional `[examples]` sections. `[user]` holds
`{instruction}`, `{document}` (and, for span checks, `{candidate}`) placeholders, filled by
plain replacement so braces in documents are harmless; `[examples]` has one JSON object per
line with `instruction`, `text`, `answer` (and `candidate`), rendered as earlier
user/assistant turns (few-shot). The version
recorded with every annotation and cache key is the file name plus a hash of its content,
so editing a template can never serve stale cached answers.

The document always sits between <document> tags and the question is asked after it:
documents are data, and an instruction-like sentence inside one must not change the question.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from falconer.core.errors import InputError
from falconer.llm.base import Message

_SECTION = re.compile(r"^\[(system|user|examples)\]\s*$")


@dataclass(frozen=True, slots=True)
class Shot:
    instruction: str
    text: str
    answer: Any
    candidate: str = ""


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    version: str
    system: str
    user: str
    shots: tuple[Shot, ...]

    def render_user(self, instruction: str, text: str, candidate: str = "") -> str:
        safe = text.replace("</document", "< /document").replace("<document", "< document")
        quoted = candidate.replace('"', "'")
        return (
            self.user.replace("{instruction}", instruction.strip())
            .replace("{candidate}", quoted)
            .replace("{document}", safe)
        )

    def messages(
        self, instruction: str, text: str, answer_text: Any, candidate: str = ""
    ) -> tuple[Message, ...]:
        """System, few-shot turns (answers rendered by `answer_text`), then the real question."""
        turns = [Message("system", self.system)]
        for shot in self.shots:
            user = self.render_user(shot.instruction, shot.text, shot.candidate)
            turns.append(Message("user", user))
            turns.append(Message("assistant", answer_text(shot.answer)))
        turns.append(Message("user", self.render_user(instruction, text, candidate)))
        return tuple(turns)


def _sections(source: str, where: str) -> dict[str, str]:
    sections: dict[str, list[str]] = {}
    current: str | None = None
    for line in source.splitlines():
        match = _SECTION.match(line)
        if match:
            current = match.group(1)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    missing = {"system", "user"} - sections.keys()
    if missing:
        raise InputError(f"{where}: prompt template lacks section(s) {sorted(missing)}")
    return {name: "\n".join(lines).strip() for name, lines in sections.items()}


def parse_template(name: str, source: str) -> PromptTemplate:
    parts = _sections(source, name)
    shots = tuple(
        Shot(row["instruction"], row["text"], row["answer"], row.get("candidate", ""))
        for row in (json.loads(line) for line in parts.get("examples", "").splitlines() if line)
    )
    digest = hashlib.sha256(source.encode("utf-8")).hexdigest()[:10]
    return PromptTemplate(name, f"{name}-{digest}", parts["system"], parts["user"], shots)


def load_template(name_or_path: str) -> PromptTemplate:
    """A bundled template by name (`label_v1`) or any template file by path."""
    path = Path(name_or_path)
    if path.suffix == ".txt" and path.is_file():
        return parse_template(path.stem, path.read_text(encoding="utf-8"))
    bundled = resources.files("falconer.annotator").joinpath("prompts", f"{name_or_path}.txt")
    if not bundled.is_file():
        raise InputError(f"no prompt template {name_or_path!r} (bundled or as a .txt file)")
    return parse_template(name_or_path, bundled.read_text(encoding="utf-8"))
