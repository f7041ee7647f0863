"""Boolean filter expressions over label steps: `and`, `or`, `not`, parentheses, step ids.

A small recursive-descent parser of our own: plans are data written by an LLM or a user, so
they are parsed, never evaluated as code. Precedence: `not` > `and` > `or`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from falconer.core.errors import InputError

MAX_LENGTH = 2000
MAX_DEPTH = 64
_TOKEN = re.compile(r"\s*(?:(\()|(\))|([A-Za-z_][A-Za-z0-9_\-]*))")
_KEYWORDS = {"and", "or", "not"}


class PlanSyntaxError(InputError):
    """A filter expression that does not parse; says what and at which character."""


@dataclass(frozen=True, slots=True)
class Ref:
    step: str


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expression


@dataclass(frozen=True, slots=True)
class And:
    left: Expression
    right: Expression


@dataclass(frozen=True, slots=True)
class Or:
    left: Expression
    right: Expression


Expression = Ref | Not | And | Or


def _tokens(source: str) -> list[tuple[str, int]]:
    if len(source) > MAX_LENGTH:
        raise PlanSyntaxError(f"filter is {len(source)} characters long, more than {MAX_LENGTH}")
    tokens: list[tuple[str, int]] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if match is None:
            where = len(source[position:]) - len(source[position:].lstrip()) + position
            raise PlanSyntaxError(f"unexpected character {source[where]!r} at {where} in filter")
        token = match.group(0).strip()
        token = token.lower() if token.lower() in _KEYWORDS else token
        tokens.append((token, match.start(match.lastindex or 0)))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokens(source)
        self.index = 0
        self.depth = 0

    def parse(self) -> Expression:
        if not self.tokens:
            raise PlanSyntaxError("filter is empty")
        expression = self._or()
        if self.index < len(self.tokens):
            token, at = self.tokens[self.index]
            raise PlanSyntaxError(f"unexpected {token!r} at {at} in filter {self.source!r}")
        return expression

    def _peek(self) -> str | None:
        return self.tokens[self.index][0] if self.index < len(self.tokens) else None

    def _take(self) -> tuple[str, int]:
        if self.index >= len(self.tokens):
            raise PlanSyntaxError(f"filter {self.source!r} ends too early")
        token = self.tokens[self.index]
        self.index += 1
        return token

    def _or(self) -> Expression:
        left = self._and()
        while self._peek() == "or":
            self._take()
            left = Or(left, self._and())
        return left

    def _and(self) -> Expression:
        left = self._not()
        while self._peek() == "and":
            self._take()
            left = And(left, self._not())
        return left

    def _not(self) -> Expression:
        if self._peek() == "not":
            self._take()
            return Not(self._nested(self._not))
        return self._atom()

    def _nested(self, rule: Callable[[], Expression]) -> Expression:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise PlanSyntaxError(f"filter nests deeper than {MAX_DEPTH} levels")
        try:
            return rule()
        finally:
            self.depth -= 1

    def _atom(self) -> Expression:
        token, at = self._take()
        if token == "(":
            inner = self._nested(self._or)
            closing, where = self._take()
            if closing != ")":
                raise PlanSyntaxError(f"expected ')' at {where} in filter {self.source!r}")
            return inner
        if token == ")" or token in _KEYWORDS:
            raise PlanSyntaxError(
                f"expected a step id at {at}, got {token!r}, in filter {self.source!r}"
            )
        return Ref(token)


def parse_expression(source: str) -> Expression:
    return _Parser(source).parse()


def references(expression: Expression) -> set[str]:
    """Every step id the expression reads."""
    match expression:
        case Ref(step):
            return {step}
        case Not(operand):
            return references(operand)
        case And(left, right) | Or(left, right):
            return references(left) | references(right)
    raise TypeError(expression)  # pragma: no cover - exhaustive


def affirmed(expression: Expression, positive: bool = True) -> set[str]:
    """The step ids whose yes can let a document through: those read under an even number
    of `not`s (under an odd number with `positive` False)."""
    match expression:
        case Ref(step):
            return {step} if positive else set()
        case Not(operand):
            return affirmed(operand, not positive)
        case And(left, right) | Or(left, right):
            return affirmed(left, positive) | affirmed(right, positive)
    raise TypeError(expression)  # pragma: no cover - exhaustive


def evaluate(expression: Expression, values: Mapping[str, bool]) -> bool:
    match expression:
        case Ref(step):
            return values[step]
        case Not(operand):
            return not evaluate(operand, values)
        case And(left, right):
            return evaluate(left, values) and evaluate(right, values)
        case Or(left, right):
            return evaluate(left, values) or evaluate(right, values)
    raise TypeError(expression)  # pragma: no cover - exhaustive


def to_source(expression: Expression) -> str:
    """Canonical text of an expression, fully parenthesised where precedence needs it."""
    match expression:
        case Ref(step):
            return step
        case Not(operand):
            inner = to_source(operand)
            return f"not {inner}" if isinstance(operand, Ref | Not) else f"not ({inner})"
        case And(left, right):
            return f"{_wrap(left, Or)} and {_wrap(right, Or)}"
        case Or(left, right):
            return f"{to_source(left)} or {to_source(right)}"
    raise TypeError(expression)  # pragma: no cover - exhaustive


def _wrap(expression: Expression, weaker: type) -> str:
    text = to_source(expression)
    return f"({text})" if isinstance(expression, weaker) else text
