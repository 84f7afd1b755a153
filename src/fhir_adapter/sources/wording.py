"""Registry wording shared by the readers: ages ("18 Years") and month-name dates ("March 4, 2021", "May 2019").

The legacy XML export and the retired API v1 write dates and ages the same way; the API v2 writes ages so too.
Trial pages write ages with or without the space ("18 Years", "18years"): ``parse_page_age``, same unit table.
"""

from __future__ import annotations

import re
from datetime import date

from fhir_adapter.model import AgeLimit

_AGE_UNITS = {"year": "years", "month": "months", "week": "weeks", "day": "days", "hour": "hours", "minute": "minutes"}
_MONTHS = {
    m: i
    for i, m in enumerate(
        (
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ),
        start=1,
    )
}
_MONTH_DATE = re.compile(r"(?P<month>[A-Za-z]+)\.?\s+(?:(?P<day>\d{1,2}),?\s+)?(?P<year>\d{4})")
_ISO_DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2})?)?")
# A decimal number, optional spaces, a unit word of _AGE_UNITS, an optional plural "s" (a page's "18 Years").
_PAGE_AGE = re.compile(rf"(\d+(?:\.\d+)?)\s*({'|'.join(_AGE_UNITS)})s?", re.IGNORECASE)


def number(text: str) -> int | float:
    """``"18"`` -> 18 (an int where the value is whole, as the JSON reader gives it), ``"2.5"`` -> 2.5. Raises
    ``ValueError`` for text that is not a number."""
    value = float(text)
    return int(value) if value.is_integer() else value


def parse_age(text: str) -> AgeLimit | None:
    """``"18 Years"`` -> ``AgeLimit(18, "years")``; ``"N/A"`` and unreadable text -> None."""
    parts = text.strip().split()
    if len(parts) != 2:
        return None
    try:
        value = number(parts[0])
    except ValueError:
        return None
    unit = _AGE_UNITS.get(parts[1].lower().rstrip("s"))
    return AgeLimit(value=value, unit=unit) if unit else None


def parse_page_age(text: str) -> AgeLimit | None:
    """A trial page's age: ``"18 Years"``, ``"18years"``, ``"2.5 months"`` -> ``AgeLimit``; anything else -> None."""
    m = _PAGE_AGE.fullmatch(text.strip())
    if m is None:
        return None
    return AgeLimit(number(m.group(1)), _AGE_UNITS[m.group(2).lower()])


def parse_registry_date(text: str) -> str | None:
    """``"March 4, 2021"`` -> ``"2021-03-04"``, ``"May 2019"`` -> ``"2019-05"`` (a month name or its first three
    letters, "Sept" too); ISO dates stay as given; a day that does not exist, or anything else -> None."""
    text = text.strip()
    if _ISO_DATE.fullmatch(text):
        return text
    m = _MONTH_DATE.fullmatch(text)
    if m is None:
        return None
    name = m.group("month").lower()
    month = _MONTHS.get(name) or next(
        (n for full, n in _MONTHS.items() if len(name) >= 3 and full.startswith(name)), None
    )
    if month is None:
        return None
    year = int(m.group("year"))
    if m.group("day") is None:
        return f"{year:04d}-{month:02d}"
    try:
        return date(year, month, int(m.group("day"))).isoformat()
    except ValueError:
        return None
