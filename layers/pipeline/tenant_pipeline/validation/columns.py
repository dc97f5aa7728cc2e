"""One JSON Schema property compiled into the one rule for its column.

A `ColumnRule` checks a whole batch column at once: `text(cells)` for CSV cells, `json(values)` for
JSON values. Each returns the normalised values (None where a value is missing or bad) and
`(position, reason)` for every bad value. Each keyword is implemented once, as a step over the
column's live values; a step settles the common case (every value fine) with C-level operations
(`map`, `min`/`max`, set inclusion, one regex over the joined column) and looks at values one by one
only to name the reasons. `check_text(cell)` and `check_json(value)` apply the same rule to one value.

Type rules. CSV cells are text, trimmed, then coerced by the schema type; an empty (or blank) cell is
a missing value. JSON values are not coerced: a JSON string "42" for an integer field is a wrong
type, and so is a number for a string field; `null` and "" (after trimming) are missing values; an
integral float (5.0) counts as an integer, as JSON Schema says.

Normalisation. Strings are trimmed; emails are lower-cased; date-times become RFC 3339 in UTC with
`Z`, seconds precision plus `.mmm` or `.uuuuuu` only when non-zero (digits past microseconds are
truncated); numbers with `multipleOf` become `Decimal` quantised to it (`12.5` -> `Decimal("12.50")`),
other numbers `Decimal`; integers `int`.

Formats: `email` (one `@`, something before it, a dotted domain without empty labels, no whitespace
or control characters), `date-time` (RFC 3339 with a time zone; calendar-checked, so 2021-02-30
fails; leap seconds are refused), `iso3166-alpha2`, `iso4217-alpha3`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from itertools import compress, repeat
from operator import and_, is_, is_not, ne, not_
from typing import Any

from tenant_pipeline.validation.codes import ISO3166_ALPHA2, ISO4217_ALPHA3
from tenant_pipeline.validation.problems import MISSING, FieldProblem, SchemaCompileError

Problems = list[tuple[int, str]]
Step = Callable[[list[Any]], tuple[list[Any], Problems]]
"""A keyword's check over a column's live values: new values (same positions) and the bad ones."""

_SUPPORTED = {
    "type", "minLength", "maxLength", "pattern", "format", "enum", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "description", "title", "examples", "x-aliases",
}  # fmt: skip
_MAX_DIGITS = 38  # DynamoDB numbers keep at most 38 significant digits.
_MAX_INT_CHARS = 40


@dataclass(frozen=True, slots=True)
class ColumnRule:
    """The compiled rule of one property."""

    name: str
    required: bool
    text_steps: tuple[Step, ...]
    json_steps: tuple[Step, ...]
    json_strings: bool  # JSON strings are trimmed, and blank ones are missing

    def text(self, cells: Sequence[str]) -> tuple[list[Any], Problems]:
        """CSV cells: trimmed; empty is missing; then the type's steps."""
        values = list(map(str.strip, cells))
        return self._run(self.text_steps, values, _EMPTY if "" in values else ())

    def json(self, values: Sequence[Any]) -> tuple[list[Any], Problems]:
        """JSON values: `null` (and, for strings, "" after trimming) is missing; no coercion."""
        if self.json_strings:
            if _STR.issuperset(map(type, values)):
                values = list(map(str.strip, values))
            else:
                values = [v.strip() if type(v) is str else v for v in values]
            missing = _NULL_OR_EMPTY if None in values or "" in values else ()
            return self._run(self.json_steps, values, missing)
        return self._run(self.json_steps, list(values), _NULL if None in values else ())

    def check_text(self, cell: str) -> Any:
        """One CSV cell: its normalised value, or `MISSING`; raises `FieldProblem` with the reason."""
        return _one(self.text([cell]))

    def check_json(self, value: Any) -> Any:
        """One JSON value, as `check_text`."""
        return _one(self.json([value]))

    def _run(
        self, steps: tuple[Step, ...], values: list[Any], missing: tuple[Any, ...]
    ) -> tuple[list[Any], Problems]:
        count = len(values)
        positions: Sequence[int] = range(count)
        problems: Problems = []
        if missing:
            present = list(map(is_not, values, repeat(None)))
            if "" in missing:
                present = list(map(and_, present, map(ne, values, repeat(""))))
            if self.required:
                problems = [(i, "missing required value") for i in compress(positions, map(not_, present))]
            positions, values = list(compress(positions, present)), list(compress(values, present))
        for step in steps:
            if not values:
                break
            values, bad = step(values)
            if bad:
                problems += [(positions[p], reason) for p, reason in bad]
                keep = [True] * len(values)
                for p, _ in bad:
                    keep[p] = False
                positions, values = list(compress(positions, keep)), list(compress(values, keep))
        if len(positions) == count:
            return values, problems
        out: list[Any] = [None] * count
        for _ in map(out.__setitem__, positions, values):  # C-level scatter
            pass
        problems.sort()
        return out, problems


_STR = frozenset({str})
_EMPTY = ("",)
_NULL = (None,)
_NULL_OR_EMPTY = (None, "")


def _one(result: tuple[list[Any], Problems]) -> Any:
    (value,), problems = result
    if problems:
        raise FieldProblem(problems[0][1])
    return MISSING if value is None else value


def _each(check: Callable[[Any], Any], values: list[Any]) -> tuple[list[Any], Problems]:
    """`check` on every value; a `FieldProblem` it raises names that value's reason."""
    out: list[Any] = []
    bad: Problems = []
    for i, value in enumerate(values):
        try:
            out.append(check(value))
        except FieldProblem as problem:
            out.append(None)
            bad.append((i, str(problem)))
    return out, bad


def _resumed_map(convert: Callable[[Any], Any], values: list[Any]) -> tuple[list[Any], list[int]]:
    """`map(convert, values)` at C speed, resumed past each value it raises `ValueError` for.

    Returns the converted values (None where it raised) and the positions where it raised."""
    out: list[Any] = []
    failed: list[int] = []
    remaining = iter(values)
    while True:
        try:
            out.extend(map(convert, remaining))  # keeps what it converted before a failure
        except ValueError:
            failed.append(len(out))
            out.append(None)
            continue
        return out, failed


class _Joined:
    """A regex that every value of a column must match in full, tried once over the joined column."""

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.one = re.compile(pattern, flags)
        self._column = re.compile(f"(?:{pattern})(?:\n(?:{pattern}))*", flags)

    def all_match(self, values: list[str]) -> bool:
        joined = "\n".join(values)
        return joined.count("\n") == len(values) - 1 and self._column.fullmatch(joined) is not None


# ----------------------------------------------------------------------------------------------
# String keywords (values are trimmed, non-empty strings)


def _no_nul(values: list[str]) -> tuple[list[Any], Problems]:
    if "\x00" not in "".join(values):
        return values, []
    return values, [(i, "bad value: contains a NUL character") for i, v in enumerate(values) if "\x00" in v]


def _lengths(lo: int, hi: int) -> Step:
    def step(values: list[str]) -> tuple[list[Any], Problems]:
        lengths = list(map(len, values))
        if min(lengths) >= lo and max(lengths) <= hi:
            return values, []
        bad = [(i, f"too long: {n} characters (at most {hi})") for i, n in enumerate(lengths) if n > hi]
        bad += [(i, f"too short: {n} characters (at least {lo})") for i, n in enumerate(lengths) if n < lo]
        return values, sorted(bad)

    return step


def _pattern(source: str) -> Step:
    search = re.compile(source).search
    reason = f"bad format: does not match {source}"

    def step(values: list[str]) -> tuple[list[Any], Problems]:
        found = list(map(search, values))
        if None not in found:
            return values, []
        return values, [(i, reason) for i, m in enumerate(found) if m is None]

    return step


def _members(allowed: frozenset[str], reason: str) -> Step:
    def step(values: list[str]) -> tuple[list[Any], Problems]:
        if allowed.issuperset(values):
            return values, []
        return values, [(i, reason) for i, v in enumerate(values) if v not in allowed]

    return step


_EMAIL_PATTERN = re.compile(r"[^@\s]+@(?:[^@\s.]+\.)+[^@\s.]+")


def _email_reason(value: str) -> str:
    """Why `value` is not an email address, as specifically as the value shows."""
    local, at, domain = value.partition("@")
    if not at:
        return "bad format: email has no '@' (expected name@example.com)"
    if not local:
        return "bad format: email has nothing before the '@'"
    if "@" in domain:
        return "bad format: email has more than one '@'"
    if not value.isprintable() or any(c.isspace() for c in value):
        return "bad format: email contains whitespace or control characters"
    return "bad format: email domain must be dotted (e.g. example.com) without empty labels"


def _email(values: list[str]) -> tuple[list[Any], Problems]:
    matches = list(map(_EMAIL_PATTERN.fullmatch, values))
    lowered = list(map(str.lower, values))
    printable = "".join(values).isprintable()
    if None not in matches and printable:
        return lowered, []
    failed = set(compress(range(len(values)), map(is_, matches, repeat(None))))
    if not printable:
        failed.update(i for i, value in enumerate(values) if not value.isprintable())
    return lowered, [(i, _email_reason(values[i])) for i in sorted(failed)]


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_NO_ZONE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?", re.ASCII)
_CANONICAL_UTC = _Joined(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z", re.ASCII)


def render_utc(dt: datetime) -> str:
    """Canonical form: UTC, `Z`, fraction only when non-zero (milliseconds if enough)."""
    dt = dt.astimezone(UTC)
    if not dt.microsecond:
        spec = "seconds"
    elif dt.microsecond % 1000 == 0:
        spec = "milliseconds"
    else:
        spec = "microseconds"
    return dt.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _date_time(value: str) -> str:
    m = _RFC3339.fullmatch(value)
    if m is None:
        if _NO_ZONE.fullmatch(value):
            raise FieldProblem("bad format: date-time needs a time and a time zone (Z or ±hh:mm)")
        raise FieldProblem("bad format: not an RFC 3339 date-time (YYYY-MM-DDThh:mm:ssZ)")
    year, month, day, hour, minute, second, frac, zone = m.groups()
    try:
        if zone in ("Z", "z"):
            tz = UTC
        else:
            zh, zm = int(zone[1:3]), int(zone[4:6])
            if zh > 23 or zm > 59:
                raise ValueError("time zone offset out of range")
            offset = timedelta(hours=zh, minutes=zm)
            tz = timezone(-offset if zone[0] == "-" else offset)
        micro = int((frac[1:] + "00000")[:6]) if frac else 0
        dt = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tz)
    except ValueError as exc:
        raise FieldProblem(f"bad format: impossible date-time ({exc})") from None
    try:
        return render_utc(dt)
    except OverflowError:
        raise FieldProblem("out of range: date-time outside years 1-9999 in UTC") from None


def _date_times(values: list[str]) -> tuple[list[Any], Problems]:
    if not _CANONICAL_UTC.all_match(values):
        return _each(_date_time, values)
    # Values in the canonical form (UTC, whole seconds, clock fields in range) are their own normal form
    # once the calendar accepts their date, which datetime's C parser tells for the whole column.
    _, failed = _resumed_map(datetime.fromisoformat, values)
    if not failed:
        return values, []
    out, bad = _each(_date_time, [values[i] for i in failed])
    normalised = list(values)
    for i, value in zip(failed, out, strict=True):
        normalised[i] = value
    return normalised, [(failed[p], reason) for p, reason in bad]


def _code_set(codes: frozenset[str], label: str) -> Step:
    return _members(codes, f"bad format: not an {label} code")


_FORMATS: dict[str, Step] = {
    "email": _email,
    "date-time": _date_times,
    "iso3166-alpha2": _code_set(ISO3166_ALPHA2, "ISO 3166-1 alpha-2 country"),
    "iso4217-alpha3": _code_set(ISO4217_ALPHA3, "ISO 4217 currency"),
}
_FORMAT_VALUES: dict[str, frozenset[str]] = {
    "iso3166-alpha2": ISO3166_ALPHA2,
    "iso4217-alpha3": ISO4217_ALPHA3,
}


def _string_steps(name: str, prop: dict[str, Any]) -> list[Step]:
    fmt = prop.get("format")
    if fmt is not None and fmt not in _FORMATS:
        raise SchemaCompileError(f"property {name!r}: unsupported format {fmt!r}")
    steps: list[Step] = [_no_nul]
    if "minLength" in prop or "maxLength" in prop:
        steps.append(_lengths(int(prop.get("minLength", 0)), int(prop.get("maxLength", 1 << 62))))
    enum = frozenset(prop["enum"]) if "enum" in prop else None
    # A closed value set that satisfies the pattern makes the pattern redundant.
    closed = enum if enum is not None else _FORMAT_VALUES.get(fmt or "")
    pattern = prop.get("pattern")
    if pattern is not None and not (closed is not None and all(re.search(pattern, v) for v in closed)):
        steps.append(_pattern(pattern))
    if enum is not None:
        steps.append(_members(enum, f"not allowed: must be one of {', '.join(sorted(enum))}"))
    if fmt is not None:
        steps.append(_FORMATS[fmt])
    return steps


# ----------------------------------------------------------------------------------------------
# Numbers


def _bounds(prop: dict[str, Any], convert: Callable[[Any], Any]) -> Step | None:
    limits = {
        k: convert(prop[k])
        for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
        if k in prop
    }
    if not limits:
        return None
    lo, hi = limits.get("minimum"), limits.get("maximum")
    xlo, xhi = limits.get("exclusiveMinimum"), limits.get("exclusiveMaximum")

    def reason(v: Any) -> str | None:
        if lo is not None and v < lo:
            return f"out of range: {v} is below the minimum {prop['minimum']}"
        if hi is not None and v > hi:
            return f"out of range: {v} is above the maximum {prop['maximum']}"
        if xlo is not None and v <= xlo:
            return f"out of range: {v} must be greater than {prop['exclusiveMinimum']}"
        if xhi is not None and v >= xhi:
            return f"out of range: {v} must be less than {prop['exclusiveMaximum']}"
        return None

    def step(values: list[Any]) -> tuple[list[Any], Problems]:
        if reason(min(values)) is None and reason(max(values)) is None:
            return values, []
        found = [(i, reason(v)) for i, v in enumerate(values)]
        return values, [(i, r) for i, r in found if r is not None]

    return step


_INTEGER = _Joined(r"[+-]?[0-9]{1,40}", re.ASCII)


def _integer_text(values: list[str]) -> tuple[list[Any], Problems]:
    if _INTEGER.all_match(values):
        return list(map(int, values)), []

    def one(v: str) -> int:
        if len(v) > _MAX_INT_CHARS:
            raise FieldProblem(f"out of range: integer with {len(v)} characters")
        if _INTEGER.one.fullmatch(v) is None:
            raise FieldProblem("wrong type: not an integer")
        return int(v)

    return _each(one, values)


def _integer_json(values: list[Any]) -> tuple[list[Any], Problems]:
    def one(v: Any) -> int:
        if isinstance(v, float):
            if not v.is_integer():
                raise FieldProblem(f"wrong type: {v!r} is not an integer")
            v = int(v)
        if abs(v) >= 10**_MAX_DIGITS:
            raise FieldProblem("out of range: integer too large")
        return int(v)

    if set(map(type, values)) == {int} and min(values) > -(10**_MAX_DIGITS) and max(values) < 10**_MAX_DIGITS:
        return values, []
    return _each(one, values)


_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def _decimal_text(values: list[str]) -> tuple[list[Any], Problems]:
    def one(v: str) -> Decimal:
        if len(v) > 2 * _MAX_DIGITS or _DECIMAL_TEXT.fullmatch(v) is None:
            raise FieldProblem("wrong type: not a decimal number")
        return Decimal(v)

    return _each(one, values)


def _decimal_json(values: list[Any]) -> tuple[list[Any], Problems]:
    def one(v: Any) -> Decimal:
        if isinstance(v, float):
            if not math.isfinite(v):
                raise FieldProblem("out of range: not a finite number")
            return Decimal(repr(v))  # the shortest text that round-trips: what the file said
        return Decimal(v)

    return _each(one, values)


def _decimal_rules(prop: dict[str, Any]) -> Step:
    """Digits, range and `multipleOf` (quantised to it) of `Decimal` values."""
    in_range = _bounds(prop, lambda x: Decimal(str(x)))
    step = Decimal(str(prop["multipleOf"])) if "multipleOf" in prop else None
    places = f"{-int(step.as_tuple().exponent)} fraction digits" if step is not None else ""

    def one(d: Decimal) -> Decimal:
        if not d.is_finite():
            raise FieldProblem("out of range: not a finite number")
        if len(d.as_tuple().digits) > _MAX_DIGITS or d.adjusted() > 125:
            raise FieldProblem(f"out of range: more than {_MAX_DIGITS} significant digits")
        if in_range is not None:
            _, bad = in_range([d])
            if bad:
                raise FieldProblem(bad[0][1])
        if step is not None:
            try:
                if d % step != 0:
                    raise FieldProblem(f"bad format: at most {places} (a multiple of {step})")
                d = d.quantize(step)
            except InvalidOperation:
                raise FieldProblem("out of range: too many digits") from None
        return d

    return lambda values: _each(one, values)


# ----------------------------------------------------------------------------------------------
# JSON types


def _json_type_name(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _json_types(kind: str, accepted: frozenset[type]) -> Step:
    def step(values: list[Any]) -> tuple[list[Any], Problems]:
        if accepted.issuperset(map(type, values)):
            return values, []
        bad = [
            (i, f"wrong type: expected {kind}, got {_json_type_name(v)}")
            for i, v in enumerate(values)
            if type(v) not in accepted
        ]
        return values, bad

    return step


# ----------------------------------------------------------------------------------------------


def compile_column(name: str, prop: dict[str, Any], required: bool) -> ColumnRule:
    """The rule of one property; raises `SchemaCompileError` on anything unsupported."""
    unknown = set(prop) - _SUPPORTED
    if unknown:
        raise SchemaCompileError(f"property {name!r}: unsupported keywords {sorted(unknown)}")
    kind = prop.get("type")
    if kind == "string":
        text_steps = _string_steps(name, prop)
        json_steps = [_json_types(kind, frozenset({str})), *text_steps]
    elif kind == "integer":
        in_range = [s for s in [_bounds(prop, Decimal)] if s is not None]
        text_steps = [_integer_text, *in_range]
        json_steps = [_json_types(kind, frozenset({int, float})), _integer_json, *in_range]
    elif kind == "number":
        finish = _decimal_rules(prop)
        text_steps = [_decimal_text, finish]
        json_steps = [_json_types(kind, frozenset({int, float})), _decimal_json, finish]
    else:
        raise SchemaCompileError(f"property {name!r}: unsupported type {kind!r}")
    return ColumnRule(name, required, tuple(text_steps), tuple(json_steps), json_strings=kind == "string")
