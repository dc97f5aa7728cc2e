"""Whole-column sweeps: one C-level pass vouches for a column, the per-value check names the rest.

A sweep takes one batch column of CSV cells and returns the normalised values (None where a
value is missing or bad) plus `(index, reason)` for each bad value. It first asks a
*certainty test* about the whole column in one call: a compiled regex over the column joined
with newlines (`(?:VALUE\\n)*`), or a set inclusion for closed value sets (enums, ISO codes).
The test accepts only values that the per-value check accepts unchanged or normalises in
bulk, never more; it is compiled from the property's keywords:

* closed sets: the enum/code values the per-value check returns unchanged;
* `email`: printable ASCII, one `@`, a dotted domain without empty labels (lower-cased in
  bulk, on the joined column);
* `date-time`: `YYYY-MM-DDThh:mm:ss[.mmm]Z` with a calendar-checked date (leap years
  included), i.e. values already in the canonical form;
* `^[...]{m,n}$` character-class patterns, integers and decimals (`multipleOf` a power of
  ten), and free text (no edge whitespace, no NUL), each with its length bounds.

A column that fails the test is retried once trimmed (cells with padding are common), and
then checked value by value with the same regex (C-level `map`); only the values the regex
cannot vouch for go through the per-value check, which normalises them or says why not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import partial
from itertools import compress, repeat
from operator import is_not, not_
from typing import Any

import orjson

from tenant_pipeline.validation.problems import MISSING, FieldProblem

Problems = list[tuple[int, str]]
TextSweep = Callable[[list[str]], tuple[list[Any], Problems]]
JsonSweep = Callable[[list[Any]], tuple[list[Any], Problems]]
Normalise = Callable[[list[str]], "list[Any] | None"]

_EMPTY_TO_NONE = {"": None}
_EMPTY_TO_NULL = {"": "null"}
_NONE_TO_EMPTY = {None: ""}
_NONE_TYPE = type(None)
_NOT_NONE = partial(is_not, None)
_MAX_REPEAT = 65535
_MAX_FAST_DIGITS = 28  # Decimal's default precision: quantize never raises below it.

_EMAIL = r"[\x21-\x3f\x41-\x7e]+@(?:[\x21-\x2d\x2f-\x3f\x41-\x7e]+\.)+[\x21-\x2d\x2f-\x3f\x41-\x7e]+"
_LEAP_YEAR = r"(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:0[48]|[2468][048]|[13579][26])00)"
_MONTH_DAY = r"(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))"  # noqa: E501
_CANONICAL_UTC = (
    rf"(?:(?!0000)[0-9]{{4}}-{_MONTH_DAY}|{_LEAP_YEAR}-02-29)"
    r"T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.(?!000)[0-9]{3})?Z"
)


def _identity(vals: list[str]) -> list[Any]:
    return list(map(_EMPTY_TO_NONE.get, vals, vals)) if "" in vals else vals


def _lower(vals: list[str]) -> list[Any]:
    # The certainty regex admits ASCII without newlines only, so this is `map(str.lower)` in one call.
    return _identity("\n".join(vals).lower().split("\n"))


class _Certainty:
    """Whole-column and per-value forms of one certainty test (empty cells pass when optional)."""

    def __init__(
        self, value: str | None, members: frozenset[str] | None, lengths: tuple[int, int] = (0, -1)
    ) -> None:
        self.value, self.members, self.lengths = value, members, lengths
        self._column: re.Pattern[str] | None = None
        self._one: re.Pattern[str] | None = None

    def compiled(self, required: bool) -> _Certainty:
        """A copy ready for use; an optional column's test also passes empty cells."""
        out = _Certainty(self.value, self.members, self.lengths)
        if self.members is not None:
            out.members = self.members if required else self.members | {""}
            return out
        lo, hi = self.lengths
        bound = "" if (lo, hi) == (0, -1) else f"(?=[^\\n]{{{lo},{'' if hi < 0 else hi}}}%s)"
        item = f"{bound % chr(10)}{self.value}" if bound else f"{self.value}"
        line = f"{bound % '$'}{self.value}" if bound else f"{self.value}"
        if not required:
            item, line = f"(?:{item})?", f"(?:{line})?"
        out._column = re.compile(f"(?:{item}\n)*")
        out._one = re.compile(line.replace("$", r"\Z"))
        return out

    def whole(self, vals: list[str]) -> bool:
        if self.members is not None:
            return self.members.issuperset(vals)
        assert self._column is not None
        return self._column.fullmatch("\n".join(vals) + "\n") is not None

    def bad(self, vals: list[str]) -> list[int]:
        """Indexes of the values the test cannot vouch for."""
        if self.members is not None:
            return list(compress(range(len(vals)), map(not_, map(self.members.__contains__, vals))))
        assert self._column is not None and self._one is not None
        text = "\n".join(vals) + "\n"
        if text.count("\n") != len(vals):  # some value holds a newline: value by value
            return list(compress(range(len(vals)), map(not_, map(self._one.fullmatch, vals))))
        # The column regex consumes the longest run of vouched-for lines; the line it stops at is bad.
        match, count, find = self._column.match, text.count, text.index
        found: list[int] = []
        pos = index = 0
        while True:
            end = match(text, pos).end()  # type: ignore[union-attr]  # (always matches, maybe empty)
            index += count("\n", pos, end)
            if end == len(text):
                return found
            found.append(index)
            index += 1
            pos = find("\n", end) + 1


class _FreeText(_Certainty):
    """Free text: no NUL, no edge whitespace, length bounds; checked with string methods."""

    def __init__(self, lengths: tuple[int, int]) -> None:
        super().__init__(None, None, lengths)
        self._required = True

    def compiled(self, required: bool) -> _Certainty:
        out = _FreeText(self.lengths)
        out._required = required
        return out

    def whole(self, vals: list[str]) -> bool:
        lo, hi = self.lengths
        present = vals if self._required or "" not in vals else list(filter(None, vals))
        if not present:
            return not self._required
        lengths = list(map(len, present))
        return (
            min(lengths) >= max(lo, 1)
            and (hi < 0 or max(lengths) <= hi)
            and "\x00" not in "".join(present)
            and list(map(str.strip, present)) == present
        )

    def bad(self, vals: list[str]) -> list[int]:
        return [i for i, v in enumerate(vals) if not self.whole([v])]


def text_sweep(
    certainty: _Certainty, normalise: Normalise, check: Callable[[str], Any], required: bool
) -> TextSweep:
    """A sweep over CSV cells (see the module docstring); `check` is the per-value text check."""

    def everything(cells: list[str]) -> tuple[list[Any], Problems]:
        return _per_value(check, cells, range(len(cells)), [None] * len(cells))

    def sweep(cells: list[str]) -> tuple[list[Any], Problems]:
        if not cells:
            return [], []
        if certainty.whole(cells):
            out = normalise(cells)
            return (out, []) if out is not None else everything(cells)
        bad = certainty.bad(cells)
        if len(bad) * 8 > len(cells):
            # Many values the test cannot vouch for: padding is the usual cause, so trim the column.
            vals = list(map(str.strip, cells))
            if vals != cells:
                if certainty.whole(vals):
                    out = normalise(vals)
                    return (out, []) if out is not None else everything(cells)
                return some_bad(cells, vals, certainty.bad(vals))
        return some_bad(cells, cells, bad)

    def some_bad(cells: list[str], vals: list[str], bad: list[int]) -> tuple[list[Any], Problems]:
        if len(bad) == len(vals):
            return everything(cells)
        # Stand a vouched-for value in for the bad ones, normalise in bulk, then check those one by one.
        stand_in = vals[next(i for i, j in enumerate([*bad, -1]) if i != j)]
        vals = vals.copy()
        for i in bad:
            vals[i] = stand_in
        out = normalise(vals)
        return _per_value(check, cells, bad, out) if out is not None else everything(cells)

    return sweep


def _per_value(
    check: Callable[[Any], Any], cells: list[Any], indexes: Iterable[int], result: list[Any]
) -> tuple[list[Any], Problems]:
    problems: Problems = []
    for i in indexes:
        try:
            value = check(cells[i])
        except FieldProblem as problem:
            problems.append((i, str(problem)))
            result[i] = None
            continue
        result[i] = None if value is MISSING else value
    return result, problems


def json_sweep(
    kind: str, text: TextSweep, check: Callable[[Any], Any], bounds: Callable[[Any], None], required: bool
) -> JsonSweep:
    """A sweep over JSON values: strings reuse the text sweep, integers are range-checked in bulk."""

    def strings(values: list[Any]) -> tuple[list[Any], Problems]:
        types = set(map(type, values))
        if not types <= {str, _NONE_TYPE}:
            return _per_value(check, values, range(len(values)), [None] * len(values))
        out, problems = text(list(map(_NONE_TO_EMPTY.get, values, values)) if _NONE_TYPE in types else values)
        if problems:  # name the reasons as the JSON check does (same rules for strings)
            return _per_value(check, values, (i for i, _ in problems), out)
        return out, problems

    def integers(values: list[Any]) -> tuple[list[Any], Problems]:
        types = set(map(type, values))
        if types <= {int, _NONE_TYPE} and not (required and _NONE_TYPE in types):
            present = list(filter(_NOT_NONE, values)) if _NONE_TYPE in types else values
            try:
                if present:
                    bounds(min(present))
                    bounds(max(present))
                    if max(map(abs, (min(present), max(present)))) < 10**18:
                        return list(values), []
            except FieldProblem:
                pass
        return _per_value(check, values, range(len(values)), [None] * len(values))

    def others(values: list[Any]) -> tuple[list[Any], Problems]:
        return _per_value(check, values, range(len(values)), [None] * len(values))

    return {"string": strings, "integer": integers}.get(kind, others)


# ----------------------------------------------------------------------------------------------
# Certainty tests per property.


def certainty_for(  # noqa: PLR0911 - one return per kind of property reads as a table
    prop: dict[str, Any],
    text_value: Callable[[str], Any],
    closed: frozenset[str] | None,
    char_class: tuple[str, int, int] | None,
    bounds: Callable[[Any], None],
) -> tuple[_Certainty, Normalise]:
    """The certainty test and bulk normaliser for one property (`text_value` takes trimmed text)."""
    kind, fmt = prop.get("type"), prop.get("format")
    lengths = (int(prop.get("minLength", 0)), int(prop.get("maxLength", -1)))
    if kind == "integer":
        return _Certainty("(?:0|-?[1-9][0-9]{0,17})", None), _integers(bounds)
    if kind == "number":
        return _decimal_certainty(prop, bounds)
    if closed is not None:
        return _Certainty(None, frozenset(v for v in closed if _unchanged(text_value, v))), _identity
    if "pattern" in prop and (char_class is None or fmt is not None):
        return _Certainty(None, frozenset()), _identity  # arbitrary regexes: value by value
    if fmt == "email":
        return _Certainty(_EMAIL, None, lengths), _lower
    if fmt == "date-time":
        return _Certainty(_CANONICAL_UTC, None, lengths), _identity
    if fmt is not None:
        return _Certainty(None, frozenset()), _identity
    if char_class is not None:
        allowed, lo, hi = char_class
        lo, hi = max(lo, lengths[0], 1), hi if lengths[1] < 0 else min(hi, lengths[1])
        repeat_ = f"{{{lo},{hi}}}" if hi < _MAX_REPEAT else f"{{{lo},}}"
        return _Certainty(f"[{re.escape(allowed)}]{repeat_}", None), _identity
    return _FreeText(lengths), _identity


def _unchanged(text_value: Callable[[str], Any], value: str) -> bool:
    try:
        return bool(value) and value == value.strip() and text_value(value) == value
    except FieldProblem:
        return False


def _integers(bounds: Callable[[Any], None]) -> Normalise:
    def normalise(vals: list[str]) -> list[Any] | None:
        # The certainty regex admits JSON integers only: orjson converts the column in one call.
        ints = orjson.loads("[" + ",".join(map(_EMPTY_TO_NULL.get, vals, vals)) + "]")
        present = list(filter(_NOT_NONE, ints)) if "" in vals else ints
        try:
            if present:
                bounds(min(present))
                bounds(max(present))
        except FieldProblem:
            return None
        return ints

    return normalise


def _decimal_certainty(prop: dict[str, Any], bounds: Callable[[Any], None]) -> tuple[_Certainty, Normalise]:
    step = Decimal(str(prop["multipleOf"])) if "multipleOf" in prop else None
    if step is not None and step.normalize().as_tuple().digits != (1,):
        return _Certainty(None, frozenset()), _identity  # e.g. multipleOf 0.05: value by value
    places = max(0, -int(step.normalize().as_tuple().exponent)) if step is not None else 10
    fraction = f"(?:\\.[0-9]{{1,{places}}})?" if places else ""
    digits = _MAX_FAST_DIGITS - places

    def normalise(vals: list[str]) -> list[Any] | None:
        given = list(filter(None, vals)) if "" in vals else vals
        decimals = list(map(Decimal, given))
        try:
            if decimals:
                bounds(min(decimals))
                bounds(max(decimals))
        except FieldProblem:
            return None
        if step is not None:
            decimals = list(map(Decimal.quantize, decimals, repeat(step)))
        if given is vals:
            return decimals
        it = iter(decimals)
        return [next(it) if v else None for v in vals]

    return _Certainty(f"-?[0-9]{{1,{digits}}}{fraction}", None), normalise
