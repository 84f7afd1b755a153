"""Organization, Practitioner, PractitionerRole and Location (R4), both ways.

Organization, Practitioner and PractitionerRole as the R5 mappers write them are valid R4 as they are. R5
``Location.contact`` (ExtendedContactDetail: the site's contacts) has no R4 element: each contact is a
``Location.contact`` R5-element extension (purpose, name, telecom).
"""

from __future__ import annotations

from fhir_adapter.fhir.r4.common import pruned, sub_value, sub_values, without_xver, xver_all, xver_complex
from fhir_adapter.fhir.r5.common import JSON


def down_location(loc: JSON) -> JSON:
    contacts = [
        xver_complex(
            "Location.contact",
            [
                ("purpose", "CodeableConcept", c.get("purpose")),
                ("name", "HumanName", c.get("name") or []),
                ("telecom", "ContactPoint", c.get("telecom") or []),
            ],
        )
        for c in loc.get("contact", [])
    ]
    out = {k: v for k, v in loc.items() if k != "contact"}
    out["extension"] = [*loc.get("extension", []), *contacts]
    return pruned(out)


def lift_location(loc: JSON) -> JSON:
    out = {k: v for k, v in loc.items() if k != "extension"}
    out["extension"] = without_xver(loc)
    out["contact"] = [
        {"purpose": sub_value(c, "purpose"), "name": sub_values(c, "name"), "telecom": sub_values(c, "telecom")}
        for c in xver_all(loc, "Location.contact")
    ]
    return pruned(out)


def down(resource: JSON) -> JSON:
    return down_location(resource) if resource.get("resourceType") == "Location" else resource


def lift(resource: JSON) -> JSON:
    return lift_location(resource) if resource.get("resourceType") == "Location" else resource
