"""A trial's R5 Provenance -> R4 (https://hl7.org/fhir/R4/provenance.html).

The Provenance itself has the same shape in R4 (target, recorded, activity, agent, entity with role ``source``);
what differs is in the contained resources: R4 Device names are ``deviceName`` (``name`` + ``type``,
https://hl7.org/fhir/R4/device.html) and R4 DocumentReference has no ``version``
(https://hl7.org/fhir/R4/documentreference.html; the version date stays in ``attachment.creation`` and the
description). ``target`` lists the R4 resources (the eligibility EvidenceVariable became a Group with its own fullUrl).
"""

from __future__ import annotations

from fhir_adapter.fhir import narrative
from fhir_adapter.fhir.common import JSON


def _contained_down(resource: JSON) -> JSON:
    rtype = resource.get("resourceType")
    if rtype == "Device":
        out = {k: v for k, v in resource.items() if k != "name"}
        out["deviceName"] = [{"name": n["value"], "type": n["type"]} for n in resource.get("name", [])]
        return out
    if rtype == "DocumentReference":
        return {k: v for k, v in resource.items() if k != "version"}
    return resource


def down(provenance: JSON, targets: list[str]) -> JSON:
    """The R4 form of an R5 Provenance whose R4 bundle holds the resources ``targets`` (fullUrls, in order)."""
    out = dict(provenance)
    out["contained"] = [_contained_down(c) for c in provenance.get("contained", [])]
    out["target"] = [{"reference": url} for url in targets]
    return out


def finish_r4(r5: dict[str, JSON], r4: dict[str, JSON]) -> dict[str, JSON]:
    """What ``fhir.r4.convert.to_r4`` leaves of a bundle's R5 resources ``r5`` (``r4``), finished: the Provenance in
    its R4 form, targeting the R4 resources, and every resource with the narrative of the R5 resource it comes from
    (``fhir.narrative.carry_to_r4``). Idempotent: finishing finished resources changes nothing."""
    out = dict(r4)
    for url, res in r4.items():
        if res.get("resourceType") == "Provenance" and url in r5:
            out[url] = down(r5[url], [u for u in r4 if r4[u].get("resourceType") != "Provenance"])
            if "text" in r5[url]:
                out[url] = narrative.with_text(out[url], r5[url]["text"])
    return narrative.carry_to_r4(r5, out)
