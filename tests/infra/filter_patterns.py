"""CloudWatch Logs JSON filter patterns, evaluated here so tests can run them over real log lines.

Implements the part of the documented syntax the stack uses and a little more: `{ ... }` around
`$.selector OP value` comparisons (`=`, `!=`, `<`, `<=`, `>`, `>=`), joined by `&&` and `||` with
parentheses; selectors with `.field` and `[index]`; values as quoted strings, bare words or numbers,
with `*` as a wildcard in string values; `IS NULL`, `IS TRUE`, `IS FALSE`, `NOT EXISTS`. A selector
that finds nothing matches no comparison (not even `!=`), as CloudWatch treats a missing field.
A line that is not a JSON object matches no JSON pattern.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<brace>[{}])
      | (?P<paren>[()])
      | (?P<logic>&&|\|\|)
      | (?P<op>!=|<=|>=|=|<|>)
      | (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<selector>\$(?:\.[A-Za-z0-9_@:-]+|\[\d+\])+)
      | (?P<word>[^\s(){}"=!<>&|]+)
    )""",
    re.VERBOSE,
)
_MISSING = object()

Predicate = Callable[[Any], bool]


class FilterPatternError(ValueError):
    """The pattern is not a JSON filter pattern this evaluator understands."""


def tokenize(pattern: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    position = 0
    pattern = pattern.strip()
    while position < len(pattern):
        match = _TOKEN.match(pattern, position)
        if match is None or match.end() == position:
            raise FilterPatternError(f"cannot read {pattern[position:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def select(document: Any, selector: str) -> Any:
    """`$.a.b[0]` of a decoded JSON document, or `_MISSING`."""
    node = document
    for name, index in re.findall(r"\.([^.\[]+)|\[(\d+)\]", selector[1:]):
        if name:
            if not isinstance(node, dict) or name not in node:
                return _MISSING
            node = node[name]
        else:
            position = int(index)
            if not isinstance(node, list) or position >= len(node):
                return _MISSING
            node = node[position]
    return node


def _wildcard(text: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _compare(field: Any, op: str, kind: str, raw: str) -> bool:
    if field is _MISSING:
        return False
    number = _number(raw) if kind == "word" else None
    if op in ("<", "<=", ">", ">="):
        if number is None or isinstance(field, bool) or not isinstance(field, int | float):
            return False
        return {"<": field < number, "<=": field <= number, ">": field > number, ">=": field >= number}[op]
    if number is not None and isinstance(field, int | float) and not isinstance(field, bool):
        equal = field == number
    elif isinstance(field, str):
        text = json.loads(raw) if kind == "string" else raw
        equal = _wildcard(text).fullmatch(field) is not None
    else:
        equal = False
    return equal if op == "=" else not equal


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self._tokens = tokens
        self._at = 0

    def peek(self) -> tuple[str, str] | None:
        return self._tokens[self._at] if self._at < len(self._tokens) else None

    def take(self, kind: str | None = None, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (kind and token[0] != kind) or (value and token[1] != value):
            raise FilterPatternError(f"expected {value or kind} at token {self._at}, got {token}")
        self._at += 1
        return token

    def pattern(self) -> Predicate:
        self.take("brace", "{")
        predicate = self.disjunction()
        self.take("brace", "}")
        if self.peek() is not None:
            raise FilterPatternError("text after the closing brace")
        return predicate

    def disjunction(self) -> Predicate:
        terms = [self.conjunction()]
        while self.peek() == ("logic", "||"):
            self.take()
            terms.append(self.conjunction())
        return terms[0] if len(terms) == 1 else (lambda doc: any(term(doc) for term in terms))

    def conjunction(self) -> Predicate:
        terms = [self.term()]
        while self.peek() == ("logic", "&&"):
            self.take()
            terms.append(self.term())
        return terms[0] if len(terms) == 1 else (lambda doc: all(term(doc) for term in terms))

    def term(self) -> Predicate:
        if self.peek() == ("paren", "("):
            self.take()
            inner = self.disjunction()
            self.take("paren", ")")
            return inner
        selector = self.take("selector")[1]
        token = self.peek()
        if token is not None and token[0] == "word" and token[1] in ("IS", "NOT"):
            return self.keyword_test(selector)
        op = self.take("op")[1]
        kind, raw = self.take()
        if kind not in ("string", "word"):
            raise FilterPatternError(f"expected a value after {selector} {op}")
        return lambda doc: _compare(select(doc, selector), op, kind, raw)

    def keyword_test(self, selector: str) -> Predicate:
        first = self.take("word")[1]
        second = self.take("word")[1]
        if (first, second) == ("NOT", "EXISTS"):
            return lambda doc: select(doc, selector) is _MISSING
        expected = {"NULL": None, "TRUE": True, "FALSE": False}
        if first != "IS" or second not in expected:
            raise FilterPatternError(f"unknown test {first} {second}")
        return lambda doc: select(doc, selector) is expected[second]


def compile_pattern(pattern: str) -> Callable[[str], bool]:
    """A function telling whether CloudWatch would count a log line (its JSON message) for `pattern`."""
    predicate = _Parser(tokenize(pattern)).pattern()

    def matches(line: str) -> bool:
        try:
            document = json.loads(line)
        except ValueError:
            return False
        return isinstance(document, dict) and predicate(document)

    return matches
