"""EvidenceVariable in the R4 (4.0.1) shape for outcome measures and interventions, both ways.

https://hl7.org/fhir/R4/evidencevariable.html (NOT R4B's, which R4 servers reject). R4 requires
``characteristic`` 1..* with ``definition[x]`` 1..1: each characteristic is ``definitionCodeableConcept`` with the
text. R5-only content travels in R5-element extensions: ``category`` (``EvidenceVariable.category``: name, value),
``characteristic.linkId`` and ``characteristic.timeFromEvent`` (description: the outcome's time frame, free text that
R4's ``timeFromStart`` Duration cannot hold).
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, pruned, text_cc
from fhir_adapter.fhir.r4.common import (
    complex_down,
    complex_lift,
    sub_value,
    sub_values,
    xver_all,
    xver_complex,
    xver_first_value,
    xver_value,
)

_TIME_FROM_EVENT = "EvidenceVariable.characteristic.timeFromEvent"


def category_extensions(ev: JSON) -> list[JSON | None]:
    """The R5 ``EvidenceVariable.category`` entries of ``ev`` as R5-element extensions (for R4 EvidenceVariable
    and the R4 eligibility Group alike)."""
    return [
        xver_complex(
            "EvidenceVariable.category",
            [("name", "String", c.get("name")), ("value", "CodeableConcept", c.get("valueCodeableConcept"))],
        )
        for c in ev.get("category", [])
    ]


def categories_from(holder: JSON) -> list[JSON]:
    """The R5 ``EvidenceVariable.category`` entries carried by ``holder``'s extensions (the way back)."""
    return [
        {"name": sub_value(c, "name"), "valueCodeableConcept": (sub_values(c, "value") or [None])[0]}
        for c in xver_all(holder, "EvidenceVariable.category")
    ]


def _characteristic(ch: JSON, title: str | None) -> JSON:
    return {
        "extension": [
            xver_value("EvidenceVariable.characteristic.linkId", valueId=ch.get("linkId")),
            *(complex_down(_TIME_FROM_EVENT, t) for t in ch.get("timeFromEvent", [])),
        ],
        "description": ch.get("description"),
        "definitionCodeableConcept": text_cc(ch.get("description") or title or "characteristic"),
    }


def down(ev: JSON) -> JSON:
    """R5 EvidenceVariable (outcome or exposure, as the R5 mappers write them) -> R4 EvidenceVariable."""
    chars = [_characteristic(c, ev.get("title")) for c in ev.get("characteristic", [])]
    if not chars:  # R4: characteristic 1..*; an exposure is defined by its name
        chars = [{"definitionCodeableConcept": text_cc(ev.get("title") or ev.get("url") or "variable")}]
    return pruned(
        {
            "resourceType": "EvidenceVariable",
            "id": ev.get("id"),
            "extension": category_extensions(ev),
            "url": ev.get("url"),
            "name": ev.get("name"),
            "title": ev.get("title"),
            "status": ev.get("status", "active"),
            "description": ev.get("description"),
            "characteristic": chars,
        }
    )


def lift(ev: JSON) -> JSON:
    """R4 EvidenceVariable -> the R5 shape the R5 reverse mappers read."""
    chars = []
    for ch in ev.get("characteristic", []):
        link = xver_first_value(ch, "EvidenceVariable.characteristic.linkId")
        if link is None:
            continue  # the characteristic R4 requires for an exposure: no R5 counterpart
        chars.append(
            {
                "linkId": link,
                "description": ch.get("description"),
                "timeFromEvent": [complex_lift(_TIME_FROM_EVENT, t) for t in xver_all(ch, _TIME_FROM_EVENT)],
            }
        )
    return pruned(
        {
            "resourceType": "EvidenceVariable",
            "id": ev.get("id"),
            "url": ev.get("url"),
            "name": ev.get("name"),
            "title": ev.get("title"),
            "status": ev.get("status"),
            "description": ev.get("description"),
            "characteristic": chars,
            "category": categories_from(ev),
        }
    )
