"""UCUM unit conversion for ``match``: a patient's value in the unit of a criterion's threshold.

The conversion is ucumvert's (https://github.com/dalito/ucumvert): a parser of the full UCUM grammar
(https://ucum.org/ucum) whose units are pint definitions generated from UCUM's own ucum-essence.xml. It converts
``10*9/L`` to ``/uL`` and ``10*3/uL``, ``g/dL`` to ``g/L``, ``/mm3`` to ``10*9/L``. It converts only within one
dimension: ``mg/dL`` to ``umol/L`` (creatinine) needs a molar mass, which is not a unit conversion, so it gives
None and the criterion stays ``unknown``. So does a unit that is not UCUM.

Two things UCUM itself would allow are refused, because they would compare different measurements:
- annotations (``{1.73_m2}``, ``{cells}``) are the unit ``1`` in UCUM, so ``mL/min`` would equal
  ``mL/min/{1.73_m2}`` (a clearance vs a body-surface-normalised eGFR): units convert only when they carry the same
  annotations;
- ``{ULN}`` / ``{LLN}`` (multiples of the normal limits, the computable contract, docs/computable.md) are not units
  of the value at all: ``evaluate`` divides the value by the Observation's reference range instead.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# A UCUM annotation: curly braces holding no brace (https://ucum.org/ucum#section-Character-Set-and-Lexical-Rules).
_ANNOTATION = re.compile(r"\{[^{}]*\}")
# Units that mean "a pure number" in a criterion without a unit (a score, ECOG 0-1).
DIMENSIONLESS = frozenset({"", "1", "{score}"})
LIMIT_UNITS = frozenset({"{ULN}", "{LLN}"})
# UCUM time units of TimeWindow, in days: UCUM defines the month (mo) as the mean Julian month, 30.4375 d, and the
# year (a) as the Julian year, 365.25 d (https://ucum.org/ucum#iso1000, table 16).
DAYS_PER = {"min": 1 / 1440, "h": 1 / 24, "d": 1.0, "wk": 7.0, "mo": 30.4375, "a": 365.25}


@cache
def _registry() -> Any:
    """ucumvert's pint registry with the UCUM definitions (built once: it parses the UCUM grammar)."""
    from ucumvert import PintUcumRegistry  # type: ignore[import-untyped]

    return PintUcumRegistry()


def annotations_of(unit: str) -> tuple[str, ...]:
    """The annotations of a UCUM unit, sorted (``mL/min/{1.73_m2}`` -> ``("{1.73_m2}",)``)."""
    return tuple(sorted(_ANNOTATION.findall(unit)))


def is_dimensionless(unit: str | None) -> bool:
    """Whether a unit means a pure number: none, ``1``, or only annotations (``{score}``)."""
    return unit is None or _ANNOTATION.sub("", unit).strip() in DIMENSIONLESS


def convert(value: float, from_unit: str, to_unit: str) -> float | None:
    """``value`` in ``from_unit`` expressed in ``to_unit`` (both UCUM codes), or None when the units are not both
    UCUM, are of different dimensions, or carry different annotations."""
    if from_unit == to_unit:
        return value
    if annotations_of(from_unit) != annotations_of(to_unit) or {from_unit, to_unit} & LIMIT_UNITS:
        return None
    if is_dimensionless(from_unit) and is_dimensionless(to_unit):
        return value
    factor = _factor(_ANNOTATION.sub("", from_unit) or "1", _ANNOTATION.sub("", to_unit) or "1")
    return None if factor is None else value * factor


@cache
def _factor(from_unit: str, to_unit: str) -> float | None:
    """How many ``to_unit`` one ``from_unit`` is (UCUM has no offset units among lab units: a factor suffices;
    Cel and [degF] are refused here, as they would need an offset)."""
    if {from_unit, to_unit} & {"Cel", "[degF]"}:
        return None
    try:
        registry = _registry()
        source = registry.from_ucum(from_unit)
        target = registry.from_ucum(to_unit)
        return float((1 * source).to(target).magnitude)
    except Exception:  # ucumvert raises lark and pint errors of many kinds for a unit it cannot read or convert
        return None


def days(value: float, unit: str) -> float | None:
    """A duration in UCUM time units as days (None for a unit that is not a time unit)."""
    factor = DAYS_PER.get(unit)
    return None if factor is None else value * factor
