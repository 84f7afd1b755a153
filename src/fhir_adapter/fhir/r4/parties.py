"""Organization, Practitioner, PractitionerRole and Location (R4), both ways.

Organization and Practitioner as the R5 mappers write them are valid R4 as they are. R5
``Location.contact`` (ExtendedContactDetail: the site's contacts) has no R4 element: each contact is a
``Location.contact`` R5-element extension (purpose, name, telecom). R5 ``PractitionerRole.contact[].telecom`` (a
central contact's phone and e-mail) is R4 ``PractitionerRole.telecom``
(https://hl7.org/fhir/R4/practitionerrole.html); the R5 mappers write nothing else in ``contact``.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, pruned, pruned_at
from fhir_adapter.fhir.r4.common import complex_down, complex_lift, without_xver, xver_all


def down_location(loc: JSON) -> JSON:
    """R5 Location -> R4 Location: each ``contact`` as a ``Location.contact`` extension."""
    contacts = [complex_down("Location.contact", c) for c in loc.get("contact", [])]
    out = {k: v for k, v in loc.items() if k != "contact"}
    out["extension"] = [*loc.get("extension", []), *contacts]
    return pruned_at(out, ("extension",))  # the rest is the pruned R5 Location's


def lift_location(loc: JSON) -> JSON:
    """R4 Location -> R5 Location (the way back of :func:`down_location`)."""
    out = {k: v for k, v in loc.items() if k != "extension"}
    out["extension"] = without_xver(loc)
    out["contact"] = [complex_lift("Location.contact", c) for c in xver_all(loc, "Location.contact")]
    return pruned(out)


def down_role(role: JSON) -> JSON:
    """R5 PractitionerRole -> R4: the telecom of every ``contact`` as ``telecom``."""
    points = [t for c in role.get("contact", []) for t in c.get("telecom", [])]
    return pruned_at({**{k: v for k, v in role.items() if k != "contact"}, "telecom": points}, ("telecom",))


def lift_role(role: JSON) -> JSON:
    """R4 PractitionerRole -> R5 (the way back of :func:`down_role`)."""
    points = role.get("telecom") or []
    return pruned({**{k: v for k, v in role.items() if k != "telecom"}, "contact": [{"telecom": points}]})


_DOWN = {"Location": down_location, "PractitionerRole": down_role}
_LIFT = {"Location": lift_location, "PractitionerRole": lift_role}


def down(resource: JSON) -> JSON:
    convert = _DOWN.get(resource.get("resourceType", ""))
    return convert(resource) if convert else resource


def lift(resource: JSON) -> JSON:
    convert = _LIFT.get(resource.get("resourceType", ""))
    return convert(resource) if convert else resource
