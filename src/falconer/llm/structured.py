"""Turning LLM text into validated values: JSON against a pydantic model, or a yes/no.

The LLM's text is never trusted: a parser either returns a value of the expected type or
raises `InvalidOutputError` (which triggers one repair attempt, then a recorded failure).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from falconer.llm.base import ChatResponse

ModelT = TypeVar("ModelT", bound=BaseModel)
_FENCE = re.compile(r"^```(?:json)?\s*|\s*```$", re.IGNORECASE)


class InvalidOutputError(ValueError):
    """The reply does not have the requested shape; the message says how (for the repair)."""


def extract_json(text: str) -> Any:
    """Parse JSON from a reply, tolerating code fences and prose around one object."""
    stripped = _FENCE.sub("", text.strip())
    try:
        return json.loads(stripped)
    except json.JSONDecodeError:
        pass
    start, end = stripped.find("{"), stripped.rfind("}")
    if start != -1 and end > start:
        try:
            return json.loads(stripped[start : end + 1])
        except json.JSONDecodeError:
            pass
    raise InvalidOutputError("the reply is not valid JSON")


def json_parser(model: type[ModelT]) -> Callable[[ChatResponse], ModelT]:
    """A parser that validates the reply against `model`."""

    def parse(response: ChatResponse) -> ModelT:
        data = extract_json(response.text)
        try:
            return model.model_validate(data)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or "the object"
            raise InvalidOutputError(f"{where}: {first['msg']}") from None

    return parse


def schema_of(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


_YES = ("yes", "true")
_NO = ("no", "false")


def yes_probability(logprobs: Mapping[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) over first-token candidates; None when neither appears."""
    yes = no = 0.0
    for token, logprob in logprobs.items():
        word = token.strip().strip('"').lower()
        if word in _YES:
            yes += math.exp(logprob)
        elif word in _NO:
            no += math.exp(logprob)
    return yes / (yes + no) if yes + no > 0 else None


def option_probabilities(
    logprobs: Mapping[str, float], options: Sequence[str]
) -> dict[str, float] | None:
    """Each option's share of the first-token probability mass of a multiple choice; None
    when no option's first token appears. A token counts for the option it begins (so
    "organ" counts for "organization"); one-letter tokens only match one-letter options,
    lest "o" be read as "other"."""
    mass = dict.fromkeys(options, 0.0)
    for token, logprob in logprobs.items():
        piece = token.strip().strip('"').lower()
        for option in options:
            if piece and option.lower().startswith(piece) and (len(piece) > 1 or len(option) == 1):
                mass[option] += math.exp(logprob)
                break
    total = sum(mass.values())
    return {option: value / total for option, value in mass.items()} if total > 0 else None


def parse_yes_no(text: str) -> bool:
    """A bool from a reply that starts with yes/no (or true/false), else InvalidOutputError."""
    word = re.sub(r"[^a-z]", " ", text.strip().lower()).split()
    if word and word[0] in _YES:
        return True
    if word and word[0] in _NO:
        return False
    raise InvalidOutputError("the reply does not start with yes or no")
