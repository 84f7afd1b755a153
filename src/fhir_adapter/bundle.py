"""Bundles of one trial: collection (export) or transaction (server push), and the way back.

https://hl7.org/fhir/R5/bundle.html. Ids are uuid5 of the NCT id and the element key, fullUrls ``urn:uuid:<id>``,
and transactions use conditional updates (``PUT ResearchStudy?identifier=<system>|<NCT>``, ``PUT
EvidenceVariable?url=<canonical>``, ...) so that pushing the same trial twice changes nothing.

An R4 bundle (https://hl7.org/fhir/R4/bundle.html) is the R5 one converted down (``fhir.r4.convert.to_r4``): it is
a function of the R5 resources, never of the Trial.

Every resource gets a generated narrative (``fhir.narrative``; R4 carries the R5 one) and every trial a Provenance
(``fhir.r5.provenance``, last in the bundle): the source record, fhir-adapter and its version, and the time. That
time is the ``clock`` given, else ``SOURCE_DATE_EPOCH`` (https://reproducible-builds.org/specs/source-date-epoch/,
so ``SOURCE_DATE_EPOCH=$(date +%s) fhir-adapter convert ...`` stamps a run), else the record's own last-update date:
output is byte-stable by default and pushing a trial twice changes nothing.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fhir_adapter import terminology
from fhir_adapter.errors import MappingError
from fhir_adapter.fhir import narrative
from fhir_adapter.fhir.common import JSON, Context, pruned_at
from fhir_adapter.fhir.ids import full_url, resource_id
from fhir_adapter.fhir.r5 import provenance
from fhir_adapter.fhir.r5.research_study import BUILT_CLEAN, to_research_study
from fhir_adapter.model import Trial
from fhir_adapter.release import FhirRelease

if TYPE_CHECKING:
    from fhir_adapter.fhir.read_bundle import fhir_release, from_bundle

__all__ = ["BUNDLE_TYPES", "FHIR_VERSIONS", "fhir_release", "from_bundle", "to_bundle", "transaction_request"]

BUNDLE_TYPES = ("collection", "transaction")
FHIR_VERSIONS = tuple(FhirRelease)  # R5, R4: members compare equal to their names ("R4" in FHIR_VERSIONS)


def __getattr__(name: str) -> Any:
    """The way back (``from_bundle``, ``fhir_release``) lives in fhir/read_bundle.py and is re-exported here, where
    callers have always imported it from; loaded on first use, so that converting (R5) does not load the reverse
    and R4 mappers (https://peps.python.org/pep-0562/)."""
    if name in ("from_bundle", "fhir_release"):
        from fhir_adapter.fhir import read_bundle

        return getattr(read_bundle, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _release(fhir_version: FhirRelease | str) -> FhirRelease:
    """``fhir_version`` as a FhirRelease (``"R4"``, ``"r5"`` or the enum); MappingError for another release."""
    try:
        return FhirRelease.parse(fhir_version)
    except ValueError as exc:
        raise MappingError(str(exc)) from None


def _resources(trial: Trial, release: FhirRelease, recorded: datetime | None) -> dict[str, JSON]:
    """fullUrl -> resource of one trial: the ResearchStudy first, then every resource it references, then the
    Provenance; each with its narrative (R5, or R4 converted down from the R5 resources)."""
    assert trial.nct_id is not None
    ctx = Context(trial.nct_id, text_slot=True)  # narratives fill the resources' text slots in place
    rs = to_research_study(ctx, trial)
    rs_id = resource_id(trial.nct_id, "ResearchStudy", "")
    study = pruned_at({"resourceType": "ResearchStudy", "id": rs_id, **rs}, [k for k in rs if k not in BUILT_CLEAN])
    resources = {full_url(rs_id): study, **ctx.resources}
    prov_url, prov = provenance.to_provenance(trial, resources, recorded)
    r5 = narrative.narratives({**resources, prov_url: prov})
    if release is not FhirRelease.R4:
        return r5
    from fhir_adapter.fhir.r4.convert import to_r4  # the R4 mappers load only for R4 output

    return to_r4(r5)


def _clock(clock: datetime | None) -> datetime | None:
    """The run's time: ``clock``, else ``SOURCE_DATE_EPOCH`` (seconds since 1970, UTC) when set, else None."""
    if clock is not None:
        return clock
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if not epoch.isdigit():
        return None
    return datetime.fromtimestamp(int(epoch), UTC)


def transaction_request(resource: JSON) -> tuple[str, bool]:
    """(``PUT`` URL, whether the body keeps its id) that writes this resource idempotently.

    Resources with a business key use a conditional update on it (``ResearchStudy?identifier=``, the R4
    eligibility ``Group?identifier=``, ``<Type>?url=<canonical>``), sent without an id: servers refuse a conditional
    create whose body carries one (Medplum) and pick their own id. The others (Organization, Location, ...) are
    written at their deterministic uuid5 id, ``PUT <Type>/<id>``: a conditional ``?_id=`` is refused by HAPI when it
    would create."""
    rtype = resource["resourceType"]
    nct_system = terminology.system("nct")
    if rtype == "ResearchStudy":
        nct = next((i["value"] for i in resource.get("identifier", []) if i.get("system") == nct_system), None)
        if nct:
            return f"ResearchStudy?identifier={quote(nct_system, safe='')}|{quote(nct, safe='')}", False
    if rtype == "Group" and resource.get("identifier"):  # R4 eligibility Group: its R5 canonical as identifier
        ident = resource["identifier"][0]
        return f"Group?identifier={quote(ident['system'], safe='')}|{quote(ident['value'], safe='')}", False
    if isinstance(resource.get("url"), str) and resource["url"]:
        return f"{rtype}?url={quote(resource['url'], safe='')}", False
    return f"{rtype}/{resource['id']}", True


def to_bundle(
    trial: Trial,
    fhir_version: FhirRelease | str = FhirRelease.R5,
    bundle_type: str = "collection",
    clock: datetime | None = None,
) -> dict[str, Any]:
    """The FHIR Bundle (a plain dict) of one trial: ResearchStudy first, then every resource it references.

    ``fhir_version``: a FhirRelease or its name (``"R5"``, ``"r4"`` ...). ``Bundle.timestamp`` is written only when a
    ``clock`` time is given (or ``SOURCE_DATE_EPOCH`` is set), and the Provenance's ``recorded`` is that time, else
    the record's last-update date, so that output is byte-stable by default."""
    release = _release(fhir_version)
    if bundle_type not in BUNDLE_TYPES:
        raise MappingError(f"bundle type {bundle_type!r} is not supported (supported: {', '.join(BUNDLE_TYPES)})")
    if not trial.nct_id:
        raise MappingError("a trial needs an NCT id to be mapped (ids are derived from it)", field="nct_id")
    now = _clock(clock)
    entries = _resources(trial, release, now or provenance.record_time(trial)).items()
    bundle: JSON = {
        "resourceType": "Bundle",
        "id": resource_id(trial.nct_id, "Bundle", bundle_type),
        "type": bundle_type,
        "entry": [],
    }
    if now is not None:
        bundle["timestamp"] = provenance.instant(now)
    for url, resource in entries:
        entry: JSON = {"fullUrl": url, "resource": resource}
        if bundle_type == "transaction":
            request_url, keeps_id = transaction_request(resource)
            if not keeps_id:
                entry["resource"] = {k: v for k, v in resource.items() if k != "id"}
            entry["request"] = {"method": "PUT", "url": request_url}
        bundle["entry"].append(entry)
    return bundle
