"""The cascade's LLM budget as a user types it: calls (`500`), a share of the corpus's
documents (`30%`), or dollars (`$2.50`). Calls and dollars become a number of calls once the
run knows what one call of its LLM costs; a share becomes a number of documents the LLM may
answer (every step of them), the unit the share of deferred documents is measured in."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from falconer.core.errors import InputError

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"


@dataclass(frozen=True, slots=True)
class LLMBudget:
    amount: float
    unit: str  # "calls", "share" (of the corpus's documents) or "usd"

    @classmethod
    def parse(cls, spec: int | str) -> LLMBudget:
        if isinstance(spec, int):
            return cls._checked(float(spec), "calls", str(spec))
        text = spec.strip().replace(",", "").replace("_", "")
        if match := re.fullmatch(rf"\$\s*{_NUMBER}", text):
            return cls._checked(float(match[1]), "usd", spec)
        if match := re.fullmatch(rf"{_NUMBER}\s*%", text):
            return cls._checked(float(match[1]) / 100, "share", spec)
        if re.fullmatch(r"\d+", text):
            return cls._checked(float(text), "calls", spec)
        raise InputError(
            f"LLM budget {spec!r}: give calls (500), a share of the documents (30%) "
            "or dollars ($2.50)"
        )

    @classmethod
    def _checked(cls, amount: float, unit: str, spec: str) -> LLMBudget:
        if unit == "share" and amount > 1:
            raise InputError(f"LLM budget {spec!r}: a share of the documents is at most 100%")
        return cls(amount, unit)

    @property
    def per_document(self) -> bool:
        return self.unit == "share"

    def limit(self, documents: int, usd_per_call: float | None) -> int:
        """The most LLM calls (documents, for a share) this budget pays for on a corpus of
        `documents`."""
        if self.unit == "calls":
            return int(self.amount)
        if self.unit == "share":
            return math.floor(self.amount * documents + 1e-9)
        if not usd_per_call:
            raise InputError(
                f"a budget of ${self.amount:g} needs the price of one LLM call, and this run "
                "measured none (every annotation came from the cache, or the model has no "
                "price: see FALCONER_PRICES); give the budget in calls or as a share (30%)"
            )
        return math.floor(self.amount / usd_per_call)

    def __str__(self) -> str:
        if self.unit == "share":
            return f"{self.amount:.0%} of the documents"
        return f"${self.amount:g}" if self.unit == "usd" else f"{int(self.amount)} calls"
