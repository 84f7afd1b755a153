"""The fast Python R4 (4.0.1) check: structure, the R4 EvidenceVariable shape and the bundle checks, offline.

What it checks:

1. Structure, datatypes, cardinality and required elements with the fhir.resources **R4B** models for the
   resources whose R4B shape equals R4 (ResearchStudy, PlanDefinition, Group, Organization, Practitioner,
   PractitionerRole, Location, Bundle; other types are checked against R4B too, which may differ from R4).
2. EvidenceVariable against the official **R4 4.0.1** element list (``definitions/r4-evidencevariable.json``,
   extracted from ``org/hl7/fhir/r4/model/profile/profiles-resources.xml`` of hapi-fhir-validation-resources-r4
   8.8.0; rebuild note in ``definitions/README.md``): unknown elements, required elements (``status``,
   ``characteristic`` 1..*, ``characteristic.definition[x]`` 1..1), max cardinality, one choice per ``[x]``,
   the codes of its required bindings (status, type, groupMeasure), and complex datatype values through the R4B
   datatype models. R4B's EvidenceVariable model is NOT used: its shape is not R4's.
3. The bundle checks of :mod:`.bundle`: no empty elements, references resolve, unique fullUrl / Type/id,
   transaction requests.

What it misses compared with HAPI's validator (``validate(..., "R4", authoritative=True)``): required bindings of
every resource other than EvidenceVariable (e.g. ``ResearchStudy.status``, ``Group.type``, ``identifier.use``)
and all extensible/preferred binding checks; every invariant (ele-1 beyond empty values, rng-2, ref-1, dom-*,
cnl-0 ...); reference target types (``site`` -> Location); extension definitions (url, context, value type);
code system and display checks (UCUM, LOINC, ...); R4-vs-R4B differences in resource types other than the eight
above and EvidenceVariable; primitive regexes inside EvidenceVariable's own primitive elements (datatypes inside it
are checked by the R4B models).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from fhir.resources.R4B import get_fhir_model_class

from fhir_adapter.issues import Issue
from fhir_adapter.release import FhirRelease
from fhir_adapter.validate._common import child, short
from fhir_adapter.validate.bundle import check_bundle, check_empty
from fhir_adapter.validate.structure import model_issues

__all__ = ["R4_SAME_AS_R4B", "check_r4"]

R4_SAME_AS_R4B = frozenset(
    {
        "ResearchStudy",
        "PlanDefinition",
        "Group",
        "Organization",
        "Practitioner",
        "PractitionerRole",
        "Location",
        "Bundle",
    }
)
_DEFINITIONS = Path(__file__).parent / "definitions" / "r4-evidencevariable.json"
_PRIMITIVES = frozenset(
    {
        "boolean",
        "integer",
        "string",
        "decimal",
        "uri",
        "url",
        "canonical",
        "base64Binary",
        "instant",
        "date",
        "dateTime",
        "time",
        "code",
        "oid",
        "id",
        "markdown",
        "unsignedInt",
        "positiveInt",
        "uuid",
        "http://hl7.org/fhirpath/System.String",
    }
)


@cache
def _r4b_class(name: str) -> Any:
    try:
        return get_fhir_model_class(name)
    except (ValueError, KeyError, AttributeError, ImportError):
        return None


@cache
def _ev_definition() -> tuple[dict[str, dict[str, Any]], dict[str, list[str]]]:
    data = json.loads(_DEFINITIONS.read_text(encoding="utf-8"))
    return {e["path"]: e for e in data["elements"]}, data["codes"]


def _datatype(type_name: str, value: Any, location: str) -> list[Issue]:
    if type_name in _PRIMITIVES:
        ok = (
            isinstance(value, bool)
            if type_name == "boolean"
            else (
                isinstance(value, int) and not isinstance(value, bool)
                if type_name in ("integer", "unsignedInt", "positiveInt")
                else isinstance(value, str)
            )
        )
        return [] if ok else [Issue("error", location, f"expected a {type_name}, got {short(value)}", "structure")]
    if not isinstance(value, dict):
        return [Issue("error", location, f"expected a {type_name} (JSON object), got {short(value)}", "structure")]
    cls = _r4b_class(type_name)
    return model_issues(cls, value, location, FhirRelease.R4) if cls is not None else []


def _children(path: str) -> dict[str, dict[str, Any]]:
    """The direct child elements of ``path`` in the R4 EvidenceVariable definition, by name (``definition[x]``)."""
    elements, _ = _ev_definition()
    return {
        p[len(path) + 1 :]: e for p, e in elements.items() if p.startswith(path + ".") and "." not in p[len(path) + 1 :]
    }


def _choice(children: dict[str, dict[str, Any]], name: str) -> tuple[str, dict[str, Any], str] | None:
    """(``[x]`` element name, its definition, the type) a JSON key such as ``definitionCodeableConcept`` stands for."""
    for base, e in children.items():
        if base.endswith("[x]") and name.startswith(base[:-3]):
            suffix = name[len(base) - 3 :]
            vtype = next((t for t in e["types"] if t[:1].upper() + t[1:] == suffix), None)
            if vtype is not None:
                return base, e, vtype
    return None


def _check_item(item: Any, element: dict[str, Any], types: list[str], loc: str) -> list[Issue]:
    """One value of an element: its type (backbone, extension, datatype) and its required binding."""
    _, codes = _ev_definition()
    issues: list[Issue] = []
    if types == ["BackboneElement"]:
        if isinstance(item, dict):
            issues += _check_element(item, element["path"], loc)
        else:
            issues.append(Issue("error", loc, f"expected an object, got {short(item)}", "structure"))
    elif types and types[0] in ("Extension", "Resource"):
        cls = _r4b_class("Extension") if types[0] == "Extension" else None
        if cls is not None:
            issues += model_issues(cls, item, loc, FhirRelease.R4)
    elif types:
        issues += _datatype(types[0], item, loc)
    binding = element.get("binding")
    if binding in codes and isinstance(item, str) and item not in codes[binding]:
        issues.append(
            Issue("error", loc, f"code {short(item)} is not in the required value set {binding}", "code-invalid")
        )
    return issues


def _check_value(key: str, value: Any, element: dict[str, Any], vtype: str | None, location: str) -> list[Issue]:
    """The value(s) of one known element of ``key``: max cardinality, then each item."""
    if key.startswith("_"):
        return []  # primitive extensions: structure of Element, not checked further
    issues: list[Issue] = []
    if element["max"] == "1" and isinstance(value, list):
        issues.append(Issue("error", child(location, key), "at most one value allowed (max 1)", "structure"))
    types = [vtype] if vtype else element["types"]
    items = value if isinstance(value, list) else [value]
    for i, item in enumerate(items):
        issues += _check_item(item, element, types, child(location, key, i if isinstance(value, list) else None))
    return issues


def _missing(node: dict[str, Any], children: dict[str, dict[str, Any]], location: str) -> list[Issue]:
    """Errors for the required (min >= 1) children absent from ``node`` (any type of a ``[x]`` choice counts)."""
    issues: list[Issue] = []
    for name, e in children.items():
        if e["min"] < 1:
            continue
        if name.endswith("[x]"):
            present = any(name[:-3] + t[:1].upper() + t[1:] in node for t in e["types"])
        else:
            present = name in node
        if not present:
            issues.append(
                Issue(
                    "error",
                    child(location, name.replace("[x]", "")),
                    f"required element is missing ({e['path']} {e['min']}..{e['max']})",
                    "required",
                )
            )
    return issues


def _check_element(node: dict[str, Any], path: str, location: str) -> list[Issue]:
    """One object of an EvidenceVariable (the resource or a backbone element) against the R4 element list."""
    children = _children(path)
    issues: list[Issue] = []
    seen_choice: dict[str, str] = {}
    for key, value in node.items():
        if key == "resourceType" and path == "EvidenceVariable":
            continue
        name = key[1:] if key.startswith("_") else key
        element, vtype = children.get(name), None
        choice = _choice(children, name) if element is None else None
        if choice is not None:
            base, element, vtype = choice
            if base in seen_choice:
                message = f"only one of {base} is allowed (also {seen_choice[base]})"
                issues.append(Issue("error", child(location, key), message, "structure"))
            seen_choice[base] = key
        if element is None:
            message = "unknown element (not defined for EvidenceVariable in FHIR R4 4.0.1)"
            issues.append(Issue("error", child(location, key), message, "structure"))
            continue
        issues += _check_value(key, value, element, vtype, location)
    return issues + _missing(node, children, location)


def _check_resource(resource: dict[str, Any], location: str) -> list[Issue]:
    rtype = resource.get("resourceType")
    if rtype == "EvidenceVariable":
        return _check_element(resource, "EvidenceVariable", location)
    cls = _r4b_class(rtype) if isinstance(rtype, str) and rtype.isalpha() else None
    if cls is None:
        return [Issue("error", child(location, "resourceType"), f"unknown resource type {short(rtype)}", "structure")]
    return model_issues(cls, resource, location, FhirRelease.R4)


def check_r4(resource: dict[str, Any]) -> list[Issue]:
    """Every issue the fast R4 check finds in a resource or Bundle (see the module docstring for what it misses)."""
    if not isinstance(resource, dict):
        return [
            Issue("error", "", f"a FHIR resource must be a JSON object, got {type(resource).__name__}", "structure")
        ]
    rtype = resource.get("resourceType")
    base = str(rtype) if isinstance(rtype, str) else ""
    issues: list[Issue] = []
    if rtype == "Bundle" and isinstance(resource.get("entry"), list):
        shell_entries = []
        for i, entry in enumerate(resource["entry"]):
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                issues += _check_resource(entry["resource"], f"{base}.entry[{i}].resource")
                entry = {k: v for k, v in entry.items() if k != "resource"}
            shell_entries.append(entry)
        issues = _check_resource(dict(resource, entry=shell_entries), base) + issues
    else:
        issues = _check_resource(resource, base)
    later = check_empty(resource, base)
    if rtype == "Bundle":
        later += check_bundle(resource, base)
    reported = {i.location for i in issues if i.is_error}
    issues += [i for i in later if i.location not in reported]
    return issues
