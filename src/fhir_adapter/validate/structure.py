"""Layer 1: structure, datatypes, cardinality and required elements, checked by the fhir.resources R5 models.

fhir.resources (pydantic) validates in stages: a type error can hide a missing required element of the same object.
To keep one bad entry of a Bundle from hiding errors in the others, every entry resource is validated on its own and
the Bundle itself is validated without its entry resources.
"""

from __future__ import annotations

import logging
from functools import cache
from typing import Any

import orjson
from fhir.resources import get_fhir_model_class
from fhir.resources.resource import Resource
from pydantic import ValidationError

from fhir_adapter.issues import Issue
from fhir_adapter.release import FhirRelease
from fhir_adapter.validate._common import child, short

log = logging.getLogger(__name__)

_CODES = {
    "model_field_validation.missing": "required",
    "missing": "required",
    "extra_forbidden": "structure",
    "json_invalid": "structure",
    "list_type": "structure",
    "dict_type": "structure",
    "model_type": "structure",
}


@cache
def model_class(resource_type: str) -> Any:
    """The fhir.resources R5 model class of ``resource_type``, or None if there is no such resource type."""
    if not resource_type.isalpha() or resource_type in ("Resource", "DomainResource"):
        return None
    try:
        cls = get_fhir_model_class(resource_type)
    except (ValueError, KeyError, AttributeError, ImportError):
        return None
    # get_fhir_model_class also returns datatypes (Quantity, ...).
    return cls if isinstance(cls, type) and issubclass(cls, Resource) else None


def is_resource_type(resource_type: Any) -> bool:
    return isinstance(resource_type, str) and model_class(resource_type) is not None


def _location(base: str, loc: tuple[Any, ...]) -> str:
    path = base
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif isinstance(part, str) and part.replace("_", "a").isalnum() and not part[:1].isdigit():
            path = child(path, part)
        # other parts (pydantic validator names such as 'function-after[...]') say nothing about the place
    return path


def _message(err: Any, release: FhirRelease) -> str:
    kind = err.get("type", "")
    msg = str(err.get("msg", "invalid value"))
    if kind == "model_field_validation.missing":
        return "required element is missing"
    if kind == "extra_forbidden":
        return f"unknown element (not defined for this type in FHIR {release})"
    if kind == "json_invalid":
        return f"expected a JSON object (complex datatype), got {short(err.get('input'))}"
    if kind in ("list_type", "dict_type", "model_type"):
        return f"{msg.rstrip('.')}, got {type(err.get('input')).__name__}"
    if kind == "string_pattern_mismatch" and isinstance(err.get("input"), str) and not err["input"].strip():
        return "empty or whitespace-only string (ele-1: all FHIR elements must have a @value or children)"
    msg = msg.removeprefix("Value error, ")
    if len(msg) > 160:
        msg = msg[:157] + "..."
    if "input" in err and err["input"] is not None and kind != "value_error":
        msg = f"{msg.rstrip('.')}: {short(err['input'])}"
    return msg


def _without_nulls(value: Any, path: tuple[Any, ...], moved: dict[tuple[Any, ...], list[int]]) -> Any:
    """``value`` without JSON nulls in arrays (layer 3 reports them): fhir.resources stops at the first one and
    hides every other error. Arrays of primitives aligned with their ``_name`` twin keep their nulls. ``moved``
    receives, for each array that lost items, the original index of every remaining item."""
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(item, list):
            twin = key[1:] if key.startswith("_") else "_" + key
            keep = [i for i, x in enumerate(item) if x is not None or twin in value]
            if len(keep) != len(item):
                moved[(*path, key)] = keep
            item = [_without_nulls(item[i], (*path, key, i), moved) for i in keep]
        elif isinstance(item, dict):
            item = _without_nulls(item, (*path, key), moved)
        out[key] = item
    return out


def _original_loc(loc: tuple[Any, ...], moved: dict[tuple[Any, ...], list[int]]) -> tuple[Any, ...]:
    path: tuple[Any, ...] = ()
    for part in loc:
        if isinstance(part, int) and path in moved and part < len(moved[path]):
            part = moved[path][part]
        path = (*path, part)
    return path


def model_issues(cls: Any, value: Any, location: str, release: FhirRelease = FhirRelease.R5) -> list[Issue]:
    """The issues the fhir.resources model ``cls`` finds in ``value`` (a resource or a datatype value) at
    ``location``; ``release`` names the FHIR release in messages (R4 checks use the R4B models)."""
    moved: dict[tuple[Any, ...], list[int]] = {}
    # Copying the tree costs a fifth of this layer; the serialised form tells cheaply whether any null is there.
    has_null = isinstance(value, dict) and b"null" in orjson.dumps(value)
    cleaned = _without_nulls(value, (), moved) if has_null else value
    try:
        cls.model_validate(cleaned)
    except ValidationError as exc:
        return [
            Issue(
                "error",
                _location(location, _original_loc(tuple(err["loc"]), moved)),
                _message(err, release),
                _CODES.get(err["type"], "value"),
            )
            for err in exc.errors()
        ]
    except Exception as exc:  # fhir.resources raises KeyError/TypeError on some malformed nested input
        log.debug("fhir.resources failed on %s", location, exc_info=True)
        return [Issue("error", location, f"cannot be parsed: {type(exc).__name__} {short(str(exc))}", "structure")]
    return []


def _validate_one(resource: dict[str, Any], location: str) -> list[Issue]:
    rtype = resource.get("resourceType")
    if rtype is None:
        return [Issue("error", child(location, "resourceType"), "resourceType is missing", "required")]
    cls = model_class(rtype) if isinstance(rtype, str) else None
    if cls is None:
        return [Issue("error", child(location, "resourceType"), f"unknown resource type {short(rtype)}", "structure")]
    return model_issues(cls, resource, location)


def check_structure(resource: dict[str, Any], location: str | None = None) -> list[Issue]:
    """Layer 1 issues of ``resource`` (a Bundle: of the Bundle and of each entry resource separately)."""
    rtype = resource.get("resourceType")
    base = location if location is not None else (str(rtype) if is_resource_type(rtype) else "")
    if rtype != "Bundle" or not isinstance(resource.get("entry"), list):
        return _validate_one(resource, base)
    issues: list[Issue] = []
    shell_entries: list[Any] = []
    for i, entry in enumerate(resource["entry"]):
        if isinstance(entry, dict) and "resource" in entry:
            res = entry["resource"]
            entry_loc = f"{base}.entry[{i}].resource"
            if isinstance(res, dict):
                issues.extend(check_structure(res, entry_loc))
            else:
                issues.append(
                    Issue("error", entry_loc, f"expected a resource (JSON object), got {short(res)}", "structure")
                )
            entry = {k: v for k, v in entry.items() if k != "resource"}
        shell_entries.append(entry)
    shell = dict(resource, entry=shell_entries)
    return _validate_one(shell, base) + issues
