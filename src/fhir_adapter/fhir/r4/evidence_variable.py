"""EvidenceVariable in the R4 (4.0.1) shape for outcome measures and interventions, both ways.

https://hl7.org/fhir/R4/evidencevariable.html (NOT R4B's, which R4 servers reject). R4 requires
``characteristic`` 1..* with ``definition[x]`` 1..1: each characteristic is ``definitionCodeableConcept`` with the
text (an exposure's: the intervention, as in R5). Our own extensions (the eligibility facts, an exposure's type,
other names and arm labels: :mod:`fhir_adapter.fhir.r5.evidence_variable`) are kept as they are. R5-only content
travels in R5-element extensions: ``category`` (``EvidenceVariable.category``: name, value; only bundles before issue
11 had any), ``characteristic.linkId`` and ``characteristic.timeFromEvent`` (description: the outcome's verbatim time
frame; event, quantity, range: its time points, see :mod:`fhir_adapter.computable.timeframe`). R4's own
``characteristic.timeFromStart`` (a Duration "from the participant's study entry") is not written: Medplum, whose R4
EvidenceVariable has R4B's shape (there ``timeFromStart`` is a BackboneElement), refuses the whole transaction for it
(tests/integration/test_servers.py), and no other shape is valid in both.

An outcome EvidenceVariable (``down`` with ``nct_id``) names its study in ``useContext`` (R4 UsageContext, code
``program`` of http://terminology.hl7.org/CodeSystem/usage-context-type: "A program/project of work for which this
artifact is applicable"): ``valueCodeableConcept`` with the study's NCT id as a coding of the NCT system, which R4's
``context`` search parameter indexes. A plain R4 client finds a trial's outcome measures with
``EvidenceVariable?context=https://clinicaltrials.gov|NCT...`` and the study with ``ResearchStudy?identifier=`` the
same token (README, "Outcomes in R4"): R4 ResearchStudy has no outcome element and no search parameter that reaches
an EvidenceVariable. Not a ``valueReference`` to the study: the study already refers to its outcomes, and the cycle
cannot be pushed as a batch of conditional writes. ``lift`` drops ``useContext``: R5 links the outcomes from
``ResearchStudy.outcomeMeasure.reference``.
"""

from __future__ import annotations

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, pruned, pruned_at, text_cc
from fhir_adapter.fhir.r4.common import (
    sub_value,
    sub_values,
    without_xver,
    xver_all,
    xver_complex,
    xver_first_value,
    xver_value,
)

_TIME_FROM_EVENT = "EvidenceVariable.characteristic.timeFromEvent"
# timeFromEvent children as (R5 element, cross-version child, value[x] type): R5 event[x] is carried as "event"
# (https://hl7.org/fhir/versions.html#extensions), as fhir.r4.criterion_atoms does for criterion windows.
_TIME_CHILDREN = (
    ("description", "description", "Markdown"),
    ("eventCodeableConcept", "event", "CodeableConcept"),
    ("quantity", "quantity", "Quantity"),
    ("range", "range", "Range"),
)
# R4 UsageContext.code of an outcome's study: usage-context-type "program", confirmed in the R4 4.0.1 value sets
# (hapi-fhir-validation-resources-r4: org/hl7/fhir/r4/model/valueset/valuesets.xml, CodeSystem usage-context-type).
_PROGRAM = {
    "system": "http://terminology.hl7.org/CodeSystem/usage-context-type",
    "code": "program",
    "display": "Program",
}


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
    entries = ch.get("timeFromEvent", [])
    return {
        "extension": [
            xver_value("EvidenceVariable.characteristic.linkId", valueId=ch.get("linkId")),
            *(
                xver_complex(_TIME_FROM_EVENT, [(x, kind, t.get(r5)) for r5, x, kind in _TIME_CHILDREN])
                for t in entries
            ),
        ],
        "description": ch.get("description"),
        "definitionCodeableConcept": ch.get("definitionCodeableConcept")
        or text_cc(ch.get("description") or title or "characteristic"),
    }


def _time_from_event(ext: JSON) -> JSON:
    return {r5: sub_value(ext, x) for r5, x, _ in _TIME_CHILDREN}


def study_context(nct_id: str) -> list[JSON]:
    """The R4 ``useContext`` of an outcome EvidenceVariable: its study's NCT id, for search."""
    nct = {"coding": [{"system": terminology.system("nct"), "code": nct_id}], "text": nct_id}
    return [{"code": _PROGRAM, "valueCodeableConcept": nct}]


def down(ev: JSON, nct_id: str | None = None) -> JSON:
    """R5 EvidenceVariable (outcome or exposure, as the R5 mappers write them) -> R4 EvidenceVariable; ``nct_id``:
    the study's, for an outcome measure's."""
    chars = [_characteristic(c, ev.get("title")) for c in ev.get("characteristic", [])]
    if not chars:  # R4: characteristic 1..*; an exposure is defined by its name
        chars = [{"definitionCodeableConcept": text_cc(ev.get("title") or ev.get("url") or "variable")}]
    return pruned_at(
        {
            "resourceType": "EvidenceVariable",
            "id": ev.get("id"),
            "extension": [*ev.get("extension", []), *category_extensions(ev)],
            "url": ev.get("url"),
            "name": ev.get("name"),
            "title": ev.get("title"),
            "status": ev.get("status", "active"),
            "description": ev.get("description"),
            "useContext": study_context(nct_id) if nct_id else None,
            "characteristic": chars,
        },
        ("extension", "useContext", "characteristic"),  # the others are the pruned R5 variable's (fhir.r4.convert)
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
                "timeFromEvent": [_time_from_event(t) for t in xver_all(ch, _TIME_FROM_EVENT)],
            }
        )
    return pruned(
        {
            "resourceType": "EvidenceVariable",
            "id": ev.get("id"),
            "extension": without_xver(ev),
            "url": ev.get("url"),
            "name": ev.get("name"),
            "title": ev.get("title"),
            "status": ev.get("status"),
            "description": ev.get("description"),
            "characteristic": chars,
            "category": categories_from(ev),
        }
    )
