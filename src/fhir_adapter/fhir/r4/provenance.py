"""A trial's R5 Provenance -> R4 (https://hl7.org/fhir/R4/provenance.html), and the rest of the R4 bundle finished.

The Provenance fhir-adapter writes has the same shape in R4 (target, recorded, activity, agent, entity with role
``source``, logical references); only ``target`` differs, because the eligibility EvidenceVariable became a Group
with its own fullUrl: it lists the R4 resources. R4 requires ``recorded`` (R5 does not): a record with no date at
all, converted with no clock, gets the start of the epoch, 1970-01-01T00:00:00Z, which no real conversion has.
"""

from __future__ import annotations

from fhir_adapter.fhir import narrative
from fhir_adapter.fhir.common import JSON

UNKNOWN_TIME = "1970-01-01T00:00:00Z"


def down(provenance: JSON, targets: list[str]) -> JSON:
    """The R4 form of an R5 Provenance whose R4 bundle holds the resources ``targets`` (fullUrls, in order)."""
    out = {**provenance, "target": [{"reference": url} for url in targets]}
    out.setdefault("recorded", UNKNOWN_TIME)
    return out


def finish_r4(r5: dict[str, JSON], r4: dict[str, JSON]) -> dict[str, JSON]:
    """What ``fhir.r4.convert.to_r4`` leaves of a bundle's R5 resources ``r5`` (``r4``), finished: the Provenance in
    its R4 form, targeting the R4 resources, and every resource with the narrative of the R5 resource it comes from
    (``fhir.narrative.carry_to_r4``). Idempotent: finishing finished resources changes nothing."""
    out = dict(r4)
    for url, res in r4.items():
        if res.get("resourceType") == "Provenance" and url in r5:
            out[url] = down(r5[url], [u for u in r4 if r4[u].get("resourceType") != "Provenance"])
    return narrative.carry_to_r4(r5, out)
