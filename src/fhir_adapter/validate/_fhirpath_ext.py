"""FHIRPath functions used by R5 invariants that fhirpathpy 2.2.4 does not implement.

``hasValue()``, ``lowBoundary()``, ``highBoundary()`` and ``comparable()`` (FHIRPath 2.0 / FHIR R5), registered
through fhirpathpy's ``userInvocationTable``. Boundaries follow the precision of the value: the decimal ``1.5`` spans
``1.45 .. 1.55``; the date ``2020-03`` spans ``2020-03-01T00:00:00+14:00 .. 2020-03-31T23:59:59.999-12:00``. Two
quantities are comparable when they have the same unit (a conservative reading: never a false failure).
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any

from fhirpathpy.engine.util import get_data as _get_data

_GET_DATA: Callable[[Any], Any] = _get_data  # fhirpathpy is untyped
_DATE = re.compile(
    r"^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?)?)?(Z|[+-]\d{2}:\d{2})?$"
)


@dataclass(frozen=True, slots=True, order=True)
class Bound:
    """A boundary value; ``<=`` between two of them compares the values (fhirpathpy falls back to Python's)."""

    value: Any
    unit: Any = None


def _decimal_bound(value: Any, high: bool) -> Decimal | None:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return None
    exponent = d.as_tuple().exponent
    precision = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    half = Decimal(5).scaleb(-precision - 1)
    return d + half if high else d - half


def _date_bound(text: str, high: bool) -> datetime | None:
    m = _DATE.match(text)
    if not m:
        return None
    year = int(m.group(1))
    month = int(m.group(2) or (12 if high else 1))
    day = int(m.group(3) or (calendar.monthrange(year, month)[1] if high else 1))
    hour = int(m.group(4) or (23 if high else 0))
    minute = int(m.group(5) or (59 if high else 0))
    second = int(m.group(6) or (59 if high else 0))
    fraction = m.group(7)
    micro = int((fraction + "000000")[:6]) if fraction else (999999 if high else 0)
    tz = m.group(8)
    if tz == "Z":
        offset = timedelta(0)
    elif tz:
        sign = -1 if tz[0] == "-" else 1
        offset = sign * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    else:
        offset = timedelta(hours=-12) if high else timedelta(hours=14)
    try:
        return datetime(year, month, day, hour, minute, second, micro, tzinfo=timezone(offset))
    except ValueError:
        return None


def _bound(inputs: list[Any], high: bool) -> list[Bound]:
    if len(inputs) != 1:
        return []
    item = inputs[0]
    if isinstance(item, dict):  # Quantity (and its profiles): the value's boundary, with the unit
        if "value" not in item:
            return []
        value = _decimal_bound(item["value"], high)
        unit = (item.get("system"), item["code"]) if item.get("code") else item.get("unit")
        return [] if value is None else [Bound(value, unit)]
    if isinstance(item, bool):
        return []
    if isinstance(item, (int, float, Decimal)):
        value = _decimal_bound(item, high)
        return [] if value is None else [Bound(value)]
    date = _date_bound(str(item), high)
    return [] if date is None else [Bound(date)]


def _low(inputs: list[Any]) -> list[Bound]:
    return _bound(inputs, high=False)


def _high(inputs: list[Any]) -> list[Bound]:
    return _bound(inputs, high=True)


def _has_value(inputs: list[Any]) -> bool:
    return len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict)


def _comparable(inputs: list[Any], other: list[Any]) -> list[bool]:
    others = [_GET_DATA(o) for o in other]
    if len(inputs) != 1 or len(others) != 1:
        return []
    a, b = inputs[0], others[0]
    if isinstance(a, Bound) and isinstance(b, Bound):
        return [a.unit == b.unit and type(a.value) is type(b.value)]
    if isinstance(a, dict) and isinstance(b, dict):
        return [(a.get("system"), a.get("code"), a.get("unit")) == (b.get("system"), b.get("code"), b.get("unit"))]
    return [type(a) is type(b)]


USER_FUNCTIONS: dict[str, dict[str, Any]] = {
    "hasValue": {"fn": _has_value},
    "lowBoundary": {"fn": _low},
    "highBoundary": {"fn": _high},
    "comparable": {"fn": _comparable, "arity": {1: ["Any"]}},
}


def _no_trace(label: str, value: Any) -> None:
    """trace() in invariants (ref-1, dom-3) must not print."""


OPTIONS: dict[str, Any] = {"userInvocationTable": USER_FUNCTIONS, "traceFn": _no_trace}
