"""Bundles of one trial: collection (export) or transaction (server push), and the way back.

https://hl7.org/fhir/R5/bundle.html. Ids are uuid5 of the NCT id and the element key, fullUrls ``urn:uuid:<id>``,
and transactions use conditional updates (``PUT ResearchStudy?identifier=<system>|<NCT>``, ``PUT
EvidenceVariable?url=<canonical>``, ...) so that pushing the same trial twice changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from fhir_adapter import terminology
from fhir_adapter.errors import MappingError
from fhir_adapter.fhir.ids import full_url, resource_id
from fhir_adapter.fhir.r5.common import JSON, Context, prune
from fhir_adapter.fhir.r5.research_study import from_research_study, to_research_study
from fhir_adapter.model import Trial

BUNDLE_TYPES = ("collection", "transaction")
FHIR_VERSIONS = ("R5",)


def _conditional_url(resource: JSON) -> str:
    """The conditional-update URL that finds this resource again on a server."""
    rtype = resource["resourceType"]
    if rtype == "ResearchStudy":
        nct = next(i["value"] for i in resource["identifier"] if i.get("system") == terminology.system("nct"))
        return f"ResearchStudy?identifier={quote(terminology.system('nct'), safe='')}|{nct}"
    if "url" in resource:
        return f"{rtype}?url={quote(resource['url'], safe='')}"
    return f"{rtype}?_id={resource['id']}"


def to_bundle(trial: Trial, fhir_version: str = "R5", bundle_type: str = "collection",
              clock: datetime | None = None) -> dict[str, Any]:
    """The FHIR Bundle (a plain dict) of one trial: ResearchStudy first, then every resource it references.

    ``Bundle.timestamp`` is written only when a ``clock`` time is given, so that output is byte-stable."""
    if fhir_version not in FHIR_VERSIONS:
        raise MappingError(f"FHIR version {fhir_version!r} is not supported (supported: {', '.join(FHIR_VERSIONS)})")
    if bundle_type not in BUNDLE_TYPES:
        raise MappingError(f"bundle type {bundle_type!r} is not supported (supported: {', '.join(BUNDLE_TYPES)})")
    if not trial.nct_id:
        raise MappingError("a trial needs an NCT id to be mapped (ids are derived from it)", field="nct_id")
    ctx = Context(trial.nct_id)
    rs = to_research_study(ctx, trial)
    rs_id = resource_id(trial.nct_id, "ResearchStudy", "")
    study = prune({"resourceType": "ResearchStudy", "id": rs_id, **rs})
    entries = [(full_url(rs_id), study), *ctx.resources.items()]
    bundle: JSON = {
        "resourceType": "Bundle",
        "id": resource_id(trial.nct_id, "Bundle", bundle_type),
        "type": bundle_type,
        "entry": [],
    }
    if clock is not None:
        bundle["timestamp"] = clock.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    for url, resource in entries:
        entry: JSON = {"fullUrl": url, "resource": resource}
        if bundle_type == "transaction":
            entry["request"] = {"method": "PUT", "url": _conditional_url(resource)}
        bundle["entry"].append(entry)
    return bundle


class _Index:
    """Finds bundle entries by fullUrl, ``Type/id`` or an absolute URL ending in ``Type/id``."""

    def __init__(self, bundle: JSON) -> None:
        self.by_ref: dict[str, JSON] = {}
        for e in bundle.get("entry", []):
            r = e.get("resource")
            if not isinstance(r, dict):
                continue
            if e.get("fullUrl"):
                self.by_ref[e["fullUrl"]] = r
            if r.get("id") and r.get("resourceType"):
                self.by_ref[f"{r['resourceType']}/{r['id']}"] = r

    def __call__(self, ref: JSON | None) -> JSON | None:
        if not ref or not isinstance(ref.get("reference"), str):
            return None
        target: str = ref["reference"]
        if target in self.by_ref:
            return self.by_ref[target]
        tail = "/".join(target.split("/_history")[0].split("/")[-2:])
        return self.by_ref.get(tail)


def from_bundle(bundle: dict[str, Any]) -> Trial:
    """The Trial a bundle of ``to_bundle`` (or one pulled back from a server) describes."""
    if bundle.get("resourceType") != "Bundle":
        raise MappingError("not a Bundle", field="resourceType")
    studies = [e["resource"] for e in bundle.get("entry", [])
               if isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == "ResearchStudy"]
    if len(studies) != 1:
        raise MappingError(f"a trial bundle holds exactly one ResearchStudy, found {len(studies)}",
                           field="Bundle.entry")
    return from_research_study(studies[0], _Index(bundle))
