"""The C batch kernel (`_fastrows`, built from `layers/pipeline/native/fastrows.c`) and its column specs.

The kernel turns a batch of CSV or JSON Lines lines straight into row tuples, vouching for the
values it can and listing the others for the Python checks (see fastrows.c). A column's spec is
compiled here from the same decisions as its certainty test in `sweeps.certainty_for`, so the
kernel never accepts a value the Python checks would refuse, nor normalises one differently.

The kernel is optional: without it (not built, or `TENANT_PIPELINE_NATIVE=0`) the validator
takes its pure-Python path, with the same results.
"""

from __future__ import annotations

import math
import os
from decimal import Decimal
from types import ModuleType
from typing import Any

from tenant_pipeline.validation.sweeps import _CANONICAL_UTC, _EMAIL, _Certainty, _FreeText

try:
    from tenant_pipeline.validation import _fastrows  # type: ignore[attr-defined]
except ImportError:  # not built: the pure-Python path
    _fastrows = None

UNVOUCHED, CHARS, TEXT, EMAIL, DATETIME, INT, MEMBERS, DECIMAL = range(8)
_INT_LIMIT = 10**18 - 1  # the kernel reads integers of up to 18 digits
_FAST_DIGITS = 28  # as `sweeps._MAX_FAST_DIGITS`

Spec = tuple[Any, ...]


def kernel() -> ModuleType | None:
    """The kernel module, or None when it is not built or `TENANT_PIPELINE_NATIVE=0`."""
    if _fastrows is None or os.environ.get("TENANT_PIPELINE_NATIVE") == "0":
        return None
    return _fastrows


def column_spec(prop: dict[str, Any], required: bool, certainty: _Certainty) -> Spec:  # noqa: PLR0911 - a table of kinds
    """The kernel's spec for one property, mirroring `certainty` (the column's certainty test)."""
    kind, fmt = prop.get("type"), prop.get("format")
    lo, hi = int(prop.get("minLength", 0)), int(prop.get("maxLength", -1))
    if certainty.members is not None:  # closed sets, and columns checked value by value (empty set)
        return (MEMBERS, required, certainty.members)
    if kind == "integer":
        return (INT, required, *_integer_bounds(prop))
    if kind == "number":
        return _decimal_spec(prop, required)
    if isinstance(certainty, _FreeText):
        return (TEXT, required, lo, hi)
    if certainty.value == _EMAIL:
        return (EMAIL, required, lo, hi)
    if certainty.value == _CANONICAL_UTC:
        return (DATETIME, required, lo, hi)
    if fmt is None and "pattern" in prop:
        from tenant_pipeline.validation.columns import _char_class  # (columns imports this module)

        char_class = _char_class(prop["pattern"])
        if char_class is not None:
            allowed, class_lo, class_hi = char_class
            return (CHARS, required, max(class_lo, lo, 1), class_hi if hi < 0 else min(class_hi, hi),
                    allowed.encode("ascii"))  # fmt: skip
    return (UNVOUCHED, required)


def _integer_bounds(prop: dict[str, Any]) -> tuple[int, int]:
    """Inclusive integer bounds equivalent to the schema's (Decimal) comparisons."""
    lo, hi = -_INT_LIMIT, _INT_LIMIT
    if "minimum" in prop:
        lo = max(lo, math.ceil(Decimal(prop["minimum"])))
    if "exclusiveMinimum" in prop:
        lo = max(lo, math.floor(Decimal(prop["exclusiveMinimum"])) + 1)
    if "maximum" in prop:
        hi = min(hi, math.floor(Decimal(prop["maximum"])))
    if "exclusiveMaximum" in prop:
        hi = min(hi, math.ceil(Decimal(prop["exclusiveMaximum"])) - 1)
    return max(lo, -_INT_LIMIT - 1), min(hi, _INT_LIMIT + 1)


def _decimal_spec(prop: dict[str, Any], required: bool) -> Spec:
    step = Decimal(str(prop["multipleOf"])) if "multipleOf" in prop else None
    if step is not None and (step.normalize().as_tuple().digits != (1,) or step > 1):
        return (UNVOUCHED, required)  # only powers of ten up to 1 are multiples by syntax alone
    places = max(0, -int(step.normalize().as_tuple().exponent)) if step is not None else 10
    bounds = [
        None if prop.get(name) is None else Decimal(str(prop[name]))
        for name in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")
    ]
    return (DECIMAL, required, _FAST_DIGITS - places, places, Decimal, *bounds, step)
