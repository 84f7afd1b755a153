"""Helpers shared by the validation layers: short value rendering and FHIRPath locations."""

from __future__ import annotations

from typing import Any, TypeAlias

MAX_VALUE_CHARS = 60


def short(value: Any) -> str:
    """``value`` as a short quoted string for messages (never more than ``MAX_VALUE_CHARS`` characters of it)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > MAX_VALUE_CHARS:
        text = text[: MAX_VALUE_CHARS - 3] + "..."
    return f"'{text}'" if isinstance(value, str) else text


def child(location: str, key: str, index: int | None = None) -> str:
    """``location.key`` or ``location.key[index]``."""
    path = f"{location}.{key}" if location else key
    return path if index is None else f"{path}[{index}]"


# A location made only if it is reported (issue 14): the generated walkers pass (parent, key) for ``parent.key`` and
# (parent, key, index) for ``parent.key[index]`` down instead of formatting each one (few are ever reported).
Loc: TypeAlias = "str | tuple[Loc, str] | tuple[Loc, str, int]"


def at(location: Loc) -> str:
    """The location string of ``location``: as ``f"{parent}.{key}"`` or ``f"{parent}.{key}[{index}]"`` made it."""
    if type(location) is str:
        return location
    if len(location) == 2:
        return f"{at(location[0])}.{location[1]}"
    return f"{at(location[0])}.{location[1]}[{location[2]}]"
