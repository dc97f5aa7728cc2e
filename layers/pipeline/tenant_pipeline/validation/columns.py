"""Compiling one JSON Schema property into a column check.

Each `ColumnCheck` carries closures specialised for the property's keywords:

* `text(cell)` for a CSV cell (a string: trimmed, then coerced by the schema type) and
  `json(value)` for a JSON value, each returning the normalised value or `MISSING`, or raising
  `FieldProblem` with the reason;
* `text_batch(cells)` / `json_batch(values)`: a fast path over a whole batch column built from
  C-level operations (`map`, `join`, set algebra). It returns the normalised column when every
  value is certainly valid, else `None`, and then the caller re-checks value by value to name
  the reasons. The fast paths accept a subset of what `text`/`json` accept, never more.

Type rules. CSV cells are text, coerced by the schema type; an empty (or blank) cell is a
missing value. JSON values are not coerced: a JSON string "42" for an integer field is a wrong
type, and so is a number for a string field; `null` and "" are missing values; an integral
float (5.0) counts as an integer, as JSON Schema says.

Normalisation. Strings are trimmed; emails are lower-cased; date-times become RFC 3339 in UTC
with `Z`, seconds precision plus `.mmm` or `.uuuuuu` only when non-zero (digits past
microseconds are truncated); numbers with `multipleOf` become `Decimal` quantised to it
(`12.5` -> `Decimal("12.50")`), other numbers `Decimal`; integers `int`.

Formats: `email` (one `@`, non-empty local part, a dotted domain without empty labels, no
whitespace or control characters), `date-time` (RFC 3339 with a time zone; calendar-checked,
so 2021-02-30 fails; leap seconds are refused), `iso3166-alpha2`, `iso4217-alpha3`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from tenant_pipeline.validation.codes import ISO3166_ALPHA2, ISO4217_ALPHA3
from tenant_pipeline.validation.native import Spec, column_spec
from tenant_pipeline.validation.problems import MISSING, FieldProblem, SchemaCompileError
from tenant_pipeline.validation.sweeps import (
    JsonSweep,
    Normalise,
    TextSweep,
    certainty_for,
    json_sweep,
    text_sweep,
)

TextCheck = Callable[[str], Any]
JsonCheck = Callable[[Any], Any]

_SUPPORTED = {
    "type", "minLength", "maxLength", "pattern", "format", "enum", "minimum", "maximum",
    "exclusiveMinimum", "exclusiveMaximum", "multipleOf", "description", "title", "examples",
}  # fmt: skip
_MAX_DIGITS = 38  # DynamoDB numbers keep at most 38 significant digits.


@dataclass(frozen=True, slots=True)
class ColumnCheck:
    """The compiled rule for one property."""

    name: str
    required: bool
    text: TextCheck
    json: JsonCheck
    text_sweep: TextSweep
    json_sweep: JsonSweep
    native: Spec  # the C kernel's spec for this column (see `native`)

    def text_batch(self, cells: Sequence[str]) -> list[Any] | None:
        """The normalised column (`MISSING` where empty) when every cell is valid, else None."""
        values, problems = self.text_sweep(list(cells))
        return None if problems else [MISSING if v is None else v for v in values]

    def json_batch(self, values: Sequence[Any]) -> list[Any] | None:
        """As `text_batch`, for JSON values."""
        out, problems = self.json_sweep(list(values))
        return None if problems else [MISSING if v is None else v for v in out]


# ----------------------------------------------------------------------------------------------
# Formats: per-value check + batch fast path. Both receive trimmed, non-empty strings.


def _email(v: str) -> str:
    local, at, domain = v.partition("@")
    if not at or not local:
        raise FieldProblem("bad format: email needs a non-empty local part before '@'")
    if "@" in domain:
        raise FieldProblem("bad format: email has more than one '@'")
    if not v.isprintable() or " " in v:
        raise FieldProblem("bad format: email contains whitespace or control characters")
    labels = domain.split(".")
    if len(labels) < 2 or "" in labels:
        raise FieldProblem("bad format: email domain must be dotted (e.g. example.com) without empty labels")
    return v.lower()


_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})",
    re.ASCII,
)
_NO_ZONE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}([Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?", re.ASCII)


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


def _date_time(v: str) -> str:
    m = _RFC3339.fullmatch(v)
    if m is None:
        if _NO_ZONE.fullmatch(v):
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


def _code_set(codes: frozenset[str], label: str) -> TextCheck:
    def check(v: str) -> str:
        if v not in codes:
            raise FieldProblem(f"bad format: not an {label} code")
        return v

    return check


_FORMATS: dict[str, TextCheck] = {
    "email": _email,
    "date-time": _date_time,
    "iso3166-alpha2": _code_set(ISO3166_ALPHA2, "ISO 3166-1 alpha-2 country"),
    "iso4217-alpha3": _code_set(ISO4217_ALPHA3, "ISO 4217 currency"),
}
_FORMAT_VALUES: dict[str, frozenset[str]] = {
    "iso3166-alpha2": ISO3166_ALPHA2,
    "iso4217-alpha3": ISO4217_ALPHA3,
}


# ----------------------------------------------------------------------------------------------
# Column compilers per JSON type.


@dataclass(frozen=True, slots=True)
class _Rules:
    """The type-specific pieces a column check is assembled from."""

    kind: str
    text: TextCheck  # trimmed, non-empty text -> normalised value
    sweep: tuple[Any, Normalise]  # certainty test and bulk normaliser (see `sweeps`)
    json_types: tuple[type, ...]
    json_value: JsonCheck  # JSON value of an accepted type -> normalised value
    bounds: Callable[[Any], None]


def compile_column(name: str, prop: dict[str, Any], required: bool) -> ColumnCheck:
    """Specialise the checks for one property; raises `SchemaCompileError` on anything unknown."""
    unknown = set(prop) - _SUPPORTED
    if unknown:
        raise SchemaCompileError(f"property {name!r}: unsupported keywords {sorted(unknown)}")
    kind = prop.get("type")
    if kind == "string":
        text, sweep = _string_checks(name, prop)
        rules = _Rules(kind, text, sweep, (str,), text, _no_bounds)
    elif kind == "integer":
        text, sweep = _integer_checks(prop)
        rules = _Rules(kind, text, sweep, (int, float), _integer_json(prop), _bounds(prop, Decimal))
    elif kind == "number":
        text, sweep = _number_checks(prop)
        rules = _Rules(kind, text, sweep, (int, float), _number_json(prop), _no_bounds)
    else:
        raise SchemaCompileError(f"property {name!r}: unsupported type {kind!r}")
    text_check = _text_check(rules.text, required)
    json_check = _json_check(rules, required)
    certainty, normalise = rules.sweep
    column_sweep = text_sweep(certainty.compiled(required), normalise, text_check, required)
    return ColumnCheck(
        name,
        required,
        text_check,
        json_check,
        column_sweep,
        json_sweep(kind, column_sweep, json_check, rules.bounds, required),
        column_spec(prop, required, certainty),
    )


def _no_bounds(value: Any) -> None:
    return None


def _missing(required: bool) -> Any:
    if required:
        raise FieldProblem("missing required value")
    return MISSING


def _text_check(text: TextCheck, required: bool) -> TextCheck:
    def check(cell: str) -> Any:
        v = cell.strip()
        return text(v) if v else _missing(required)

    return check


def _json_check(rules: _Rules, required: bool) -> JsonCheck:
    json_types, json_value, kind = rules.json_types, rules.json_value, rules.kind

    def check(value: Any) -> Any:
        if value is None:
            return _missing(required)
        if isinstance(value, bool) or not isinstance(value, json_types):
            raise FieldProblem(f"wrong type: expected {kind}, got {_json_type_name(value)}")
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return _missing(required)
        return json_value(value)

    return check


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


def _string_checks(name: str, prop: dict[str, Any]) -> tuple[TextCheck, tuple[Any, Normalise]]:
    min_len = int(prop.get("minLength", 0))
    max_len = int(prop.get("maxLength", 1 << 62))
    fmt = prop.get("format")
    if fmt is not None and fmt not in _FORMATS:
        raise SchemaCompileError(f"property {name!r}: unsupported format {fmt!r}")
    fmt_check = _FORMATS[fmt] if fmt else None
    enum = frozenset(prop["enum"]) if "enum" in prop else None
    pattern = re.compile(prop["pattern"]) if "pattern" in prop else None
    # A closed value set that satisfies the pattern makes the pattern redundant at run time.
    closed = enum if enum is not None else _FORMAT_VALUES.get(fmt or "")
    if pattern is not None and closed is not None and all(pattern.search(v) for v in closed):
        pattern = None
    search = pattern.search if pattern is not None else None
    char_class = _char_class(prop["pattern"]) if search is not None else None
    enum_text = ", ".join(sorted(enum)) if enum else ""

    def text(v: str) -> Any:
        if "\x00" in v:
            raise FieldProblem("bad value: contains a NUL character")
        if len(v) > max_len:
            raise FieldProblem(f"too long: {len(v)} characters (at most {max_len})")
        if len(v) < min_len:
            raise FieldProblem(f"too short: {len(v)} characters (at least {min_len})")
        if search is not None and search(v) is None:
            raise FieldProblem(f"bad format: does not match {prop['pattern']}")
        if enum is not None and v not in enum:
            raise FieldProblem(f"not allowed: must be one of {enum_text}")
        return fmt_check(v) if fmt_check is not None else v

    return text, certainty_for(prop, text, closed, char_class, _no_bounds)


_CLASS_PATTERN = re.compile(
    r"\^\[((?:[A-Za-z0-9_]-[A-Za-z0-9_]|[A-Za-z0-9_.@]|\\?-)+)\](?:\{(\d+),(\d+)\}|(\+))\$"
)


def _char_class(pattern: str) -> tuple[str, int, int] | None:
    """`^[A-Za-z0-9_-]{1,64}$`-style patterns as (allowed characters, min, max), else None.

    Such a pattern is then checked on a whole column by one regex over the joined values (see
    `sweeps`), instead of one regex call per value.
    """
    m = _CLASS_PATTERN.fullmatch(pattern)
    if m is None:
        return None
    body, lo, hi, plus = m.groups()
    chars: set[str] = set()
    for item in re.findall(r"[A-Za-z0-9_]-[A-Za-z0-9_]|\\?.", body):
        if len(item) == 3 and item[1] == "-":
            if item[0] > item[2]:
                return None
            chars.update(chr(c) for c in range(ord(item[0]), ord(item[2]) + 1))
        else:
            chars.add(item[-1])
    return "".join(sorted(chars)), (1 if plus else int(lo)), (1 << 62 if plus else int(hi))


def _bounds(prop: dict[str, Any], convert: Callable[[Any], Any]) -> Callable[[Any], None]:
    lo, hi = prop.get("minimum"), prop.get("maximum")
    xlo, xhi = prop.get("exclusiveMinimum"), prop.get("exclusiveMaximum")
    lo_c = None if lo is None else convert(lo)
    hi_c = None if hi is None else convert(hi)
    xlo_c = None if xlo is None else convert(xlo)
    xhi_c = None if xhi is None else convert(xhi)

    def check(v: Any) -> None:
        if lo_c is not None and v < lo_c:
            raise FieldProblem(f"out of range: {v} is below the minimum {lo}")
        if hi_c is not None and v > hi_c:
            raise FieldProblem(f"out of range: {v} is above the maximum {hi}")
        if xlo_c is not None and v <= xlo_c:
            raise FieldProblem(f"out of range: {v} must be greater than {xlo}")
        if xhi_c is not None and v >= xhi_c:
            raise FieldProblem(f"out of range: {v} must be less than {xhi}")

    return check


_INT_TEXT = re.compile(r"[+-]?[0-9]+", re.ASCII)
_MAX_INT_CHARS = 40


def _integer_checks(prop: dict[str, Any]) -> tuple[TextCheck, tuple[Any, Normalise]]:
    in_range = _bounds(prop, Decimal)

    def text(v: str) -> int:
        if len(v) > _MAX_INT_CHARS:
            raise FieldProblem(f"out of range: integer with {len(v)} characters")
        if _INT_TEXT.fullmatch(v) is None:
            raise FieldProblem("wrong type: not an integer")
        n = int(v)
        in_range(n)
        return n

    return text, certainty_for(prop, text, None, None, in_range)


def _integer_json(prop: dict[str, Any]) -> Callable[[Any], int]:
    in_range = _bounds(prop, Decimal)

    def check(v: Any) -> int:
        if isinstance(v, float):
            if not v.is_integer():
                raise FieldProblem(f"wrong type: {v!r} is not an integer")
            v = int(v)
        if abs(v) >= 10**_MAX_DIGITS:
            raise FieldProblem("out of range: integer too large")
        in_range(v)
        return int(v)

    return check


_DECIMAL_TEXT = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)


def _number_checks(prop: dict[str, Any]) -> tuple[TextCheck, tuple[Any, Normalise]]:
    finish = _decimal_rules(prop)

    def text(v: str) -> Decimal:
        if len(v) > 2 * _MAX_DIGITS or _DECIMAL_TEXT.fullmatch(v) is None:
            raise FieldProblem("wrong type: not a decimal number")
        return finish(Decimal(v))

    return text, certainty_for(prop, text, None, None, _bounds(prop, lambda x: Decimal(str(x))))


def _number_json(prop: dict[str, Any]) -> Callable[[Any], Decimal]:
    finish = _decimal_rules(prop)

    def check(v: Any) -> Decimal:
        if isinstance(v, float):
            if not math.isfinite(v):
                raise FieldProblem("out of range: not a finite number")
            # repr is the shortest text that round-trips, i.e. what the file said (12.5 -> "12.5").
            return finish(Decimal(repr(v)))
        return finish(Decimal(v))

    return check


def _decimal_rules(prop: dict[str, Any]) -> Callable[[Decimal], Decimal]:
    in_range = _bounds(prop, lambda x: Decimal(str(x)))
    step = Decimal(str(prop["multipleOf"])) if "multipleOf" in prop else None
    places = f"{-int(step.as_tuple().exponent)} fraction digits" if step is not None else ""

    def finish(d: Decimal) -> Decimal:
        if not d.is_finite():
            raise FieldProblem("out of range: not a finite number")
        digits = d.as_tuple().digits
        if len(digits) > _MAX_DIGITS or d.adjusted() > 125:
            raise FieldProblem(f"out of range: more than {_MAX_DIGITS} significant digits")
        in_range(d)
        if step is not None:
            try:
                if d % step != 0:
                    raise FieldProblem(f"bad format: at most {places} (a multiple of {step})")
                d = d.quantize(step)
            except InvalidOperation:
                raise FieldProblem("out of range: too many digits") from None
        return d

    return finish
