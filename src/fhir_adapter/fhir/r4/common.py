"""Shared by the R4 mappers: the R5-element extensions ("cross-version" extensions) and how to read them back.

R5 content that R4 has no element for is kept in extensions named after the R5 element, in the form HL7's
cross-version extensions define (https://hl7.org/fhir/versions.html#extensions): one extension per R5 element
``<Resource>.<path>``; a primitive or datatype value as ``value[x]``; a backbone element as a complex extension
whose sub-extensions are named by child element (``state``, ``actual``, ``period`` ...), each with ``value[x]``.

URL: HL7's official cross-version base ``http://hl7.org/fhir/5.0/StructureDefinition/extension-``
(:data:`OFFICIAL_XVER_BASE`) for every R5 element the cross-version tables can express in R4. HL7's validator
checks these extensions against the table ``xver-paths-5.0.json`` (npm ``hl7.fhir.xver-extensions`` 0.1.0; the
HAPI validator in ``validators/hapi`` serves it). Three elements cannot be expressed there and use our own base
``https://fhir-adapter.dev/StructureDefinition/r5-`` (:data:`XVER_BASE`) in the same form: ``ResearchStudy.focus``
and ``Location.contact`` (R5 types CodeableReference and ExtendedContactDetail, which R4 lacks: the validator fails on
the generated definition) and ``EvidenceVariable.category`` (the table marks its children as not representable).
The reader accepts both bases.

Where an official one may sit: HL7's validator defines an official extension for the R5 element ``X.y.z`` with the
context ``X.y`` (the R5 parent path, ``XVerExtensionManagerOld`` of org.hl7.fhir.r5 6.7.9, which reads
``xver-paths-5.0.json``), so it is accepted only on an R4 element with that very path: at the resource root for
``X.y`` and on R4 ``EvidenceVariable.characteristic`` for ``EvidenceVariable.characteristic.linkId``, but not on
R4 ``ResearchStudy.arm`` (R5 ``comparisonGroup``) or ``Group.characteristic``. Children of an R5 backbone that R4
names differently therefore travel at the root as the complex extension of the backbone (``comparisonGroup``,
``outcomeMeasure``: :mod:`.comparison`), and R5 EvidenceVariable children on R4 ``Group.characteristic`` use our own
base (``own=True``: :mod:`.group`, :mod:`.criterion_atoms`). Which children a complex extension has is data:
``mappings/fhir-r4-r5.json`` (``complexExtensions``), read by :func:`complex_down` and :func:`complex_lift` alike.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON

OFFICIAL_XVER_BASE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-"
XVER_BASE = terminology.system("fhir-adapter-ext") + "r5-"
_BASES = (XVER_BASE, OFFICIAL_XVER_BASE)


# R5 elements the official cross-version extensions cannot carry into R4 (see the module docstring).
OWN_BASE_ELEMENTS = frozenset({"ResearchStudy.focus", "EvidenceVariable.category", "Location.contact"})


def xver_url(path: str, own: bool = False) -> str:
    """The extension URL of the R5 element ``path`` (``"ResearchStudy.progressStatus"``); ``own``: our base, for a
    place the official extension's context does not allow."""
    own = own or any(path == p or path.startswith(p + ".") for p in OWN_BASE_ELEMENTS)
    return (XVER_BASE if own else OFFICIAL_XVER_BASE) + path


def is_xver(url: str | None, path: str) -> bool:
    return url is not None and any(url == base + path for base in _BASES)


def xver_value(path: str, own: bool = False, **value: Any) -> JSON | None:
    """``xver_value("ResearchStudy.descriptionSummary", valueMarkdown="...")``; None if the value is empty."""
    if not any(v not in (None, "", [], {}) for v in value.values()):
        return None
    return {"url": xver_url(path, own), **value}


def xver_complex(
    path: str, children: list[tuple[str, str, Any]], extra: list[JSON] | None = None, own: bool = False
) -> JSON | None:
    """A complex extension for the R5 backbone element ``path``: ``children`` are (child name, value[x] type suffix,
    value); a list value gives one sub-extension per item; ``extra`` are extensions with absolute URLs that the R5
    element itself carried (our own extensions), kept as sub-extensions; ``own``: our base (see the module)."""
    subs: list[JSON] = []
    for name, vtype, value in children:
        for v in value if isinstance(value, list) else [value]:
            if v not in (None, "", [], {}):
                subs.append({"url": name, f"value{vtype}": v})
    subs += extra or []
    return {"url": xver_url(path, own), "extension": subs} if subs else None


def xver_all(holder: JSON | None, path: str) -> list[JSON]:
    """Every extension of ``holder`` for the R5 element ``path`` (either base)."""
    return [e for e in (holder or {}).get("extension", []) if is_xver(e.get("url"), path)]


def xver_first_value(holder: JSON | None, path: str) -> Any:
    for e in xver_all(holder, path):
        for k, v in e.items():
            if k.startswith("value"):
                return v
    return None


def sub_values(ext: JSON, child: str) -> list[Any]:
    """The values of the sub-extensions ``child`` of a complex extension."""
    out = []
    for sub in ext.get("extension", []):
        if sub.get("url") == child:
            out += [v for k, v in sub.items() if k.startswith("value")]
    return out


def sub_value(ext: JSON, child: str) -> Any:
    values = sub_values(ext, child)
    return values[0] if values else None


def absolute_subs(ext: JSON) -> list[JSON]:
    """The sub-extensions with absolute URLs (our own extensions the R5 element carried)."""
    return [s for s in ext.get("extension", []) if "://" in str(s.get("url", ""))]


def complex_down(path: str, element: JSON) -> JSON | None:
    """The complex extension of the R5 backbone ``element`` at ``path``, children as ``mappings/fhir-r4-r5.json``
    lists them (None if it has none)."""
    children, keep = terminology.complex_extension(path)
    values = [(c.name, c.value_type, element.get(c.name)) for c in children]
    return xver_complex(path, values, extra=element.get("extension") if keep else None)


def complex_lift(path: str, ext: JSON) -> JSON:
    """The R5 backbone element a complex extension of :func:`complex_down` carries (the way back)."""
    children, keep = terminology.complex_extension(path)
    out = {c.name: sub_values(ext, c.name) if c.repeats else sub_value(ext, c.name) for c in children}
    if keep:
        out["extension"] = absolute_subs(ext)
    return out


def without_xver(holder: JSON) -> list[JSON]:
    """The extensions of ``holder`` that are not R5-element extensions."""
    return [e for e in holder.get("extension", []) if not str(e.get("url", "")).startswith(_BASES)]
