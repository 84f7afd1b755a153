"""Organization, Practitioner, PractitionerRole and Location (R4), both ways.

Organization, Practitioner and PractitionerRole as the R5 mappers write them are valid R4 as they are. R5
``Location.contact`` (ExtendedContactDetail: the site's contacts) has no R4 element: each contact is a
``Location.contact`` R5-element extension (purpose, name, telecom).
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, pruned
from fhir_adapter.fhir.r4.common import complex_down, complex_lift, without_xver, xver_all


def down_location(loc: JSON) -> JSON:
    """R5 Location -> R4 Location: each ``contact`` as a ``Location.contact`` extension."""
    contacts = [complex_down("Location.contact", c) for c in loc.get("contact", [])]
    out = {k: v for k, v in loc.items() if k != "contact"}
    out["extension"] = [*loc.get("extension", []), *contacts]
    return pruned(out)


def lift_location(loc: JSON) -> JSON:
    """R4 Location -> R5 Location (the way back of :func:`down_location`)."""
    out = {k: v for k, v in loc.items() if k != "extension"}
    out["extension"] = without_xver(loc)
    out["contact"] = [complex_lift("Location.contact", c) for c in xver_all(loc, "Location.contact")]
    return pruned(out)


def down(resource: JSON) -> JSON:
    return down_location(resource) if resource.get("resourceType") == "Location" else resource


def lift(resource: JSON) -> JSON:
    return lift_location(resource) if resource.get("resourceType") == "Location" else resource
