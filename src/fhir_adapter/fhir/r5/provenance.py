"""The Provenance of one trial's bundle: where the record came from, what made the resources, and when.

https://hl7.org/fhir/R5/provenance.html. One Provenance per trial (id: uuid5 of the NCT id, ``fhir.ids``):

- ``target``: every other resource of the bundle (by fullUrl; servers rewrite them in a transaction);
- ``entity`` (role ``source``): the registry record, a contained DocumentReference: ClinicalTrials.gov's identifier
  (the NCT id), the record's version (its last-update-posted date, also ``attachment.creation``) and its public page
  (``attachment.url``). Deliberately not the local file it was read from: a path names users, hosts and folder
  layouts, which a hospital's security review would not want sent to a FHIR server, and it means nothing to a
  reader of that server; the public record and its date identify the source for anyone. (It also keeps the
  Provenance a function of what a bundle round-trips, so that ``to_bundle(from_bundle(b)) == b``.);
- ``agent``: fhir-adapter as the ``assembler`` (provenance-participant-type), a contained Device with its version;
- ``activity``: v3 DataOperation ``CREATE``, its text saying what was derived from free text (eligibility atoms,
  treatment regimens, the schedule of assessments) rather than copied;
- ``recorded``: the caller's time (``bundle.to_bundle``'s clock), by default the record's own last-update date, so
  that output is byte-stable and pushing a trial twice changes nothing.

Codes: provenance-participant-type ``assembler`` (https://terminology.hl7.org/CodeSystem-provenance-participant-type.html),
v3-DataOperation ``CREATE`` (https://terminology.hl7.org/CodeSystem-v3-DataOperation.html), device-nametype
``user-friendly-name`` (https://hl7.org/fhir/R5/codesystem-device-nametype.html).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, pruned
from fhir_adapter.fhir.ids import full_url, resource_id
from fhir_adapter.model import Trial

__all__ = ["AGENT", "SOURCE", "instant", "provenance_url", "record_time", "to_provenance"]

AGENT = "fhir-adapter"  # contained Device id (and name)
SOURCE = "source"  # contained DocumentReference id
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_OPERATION = "http://terminology.hl7.org/CodeSystem/v3-DataOperation"
DEVICE_NAME_TYPE = "http://hl7.org/fhir/device-nametype"
STUDY_PAGE = "https://clinicaltrials.gov/study/"  # the public page of a record, by NCT id
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def version() -> str:
    """fhir-adapter's version (the installed distribution's, ``fhir_adapter.__version__``)."""
    import fhir_adapter

    return str(fhir_adapter.__version__)


def provenance_url(nct_id: str) -> str:
    """The fullUrl of a trial's Provenance."""
    return full_url(resource_id(nct_id, "Provenance", ""))


def _record_date(t: Trial) -> str | None:
    """The record's version date: last update posted, else status verified, first posted or first submitted."""
    dates = [t.last_update_posted_date, t.status_verified_date, t.first_posted_date, t.first_submitted_date]
    for d in dates:
        text = d if isinstance(d, str) else (d.date if d is not None else None)
        if text:
            return text
    return None


def record_time(t: Trial) -> datetime:
    """The default ``recorded`` time: the record's version date at 00:00 UTC (a month or a year at its first day);
    1970-01-01 when the record has no date at all."""
    text = _record_date(t)
    if not text:
        return _EPOCH
    parts = [*text.split("T")[0].split("-"), "01", "01"][:3]
    try:
        return datetime(int(parts[0]), int(parts[1]), int(parts[2]), tzinfo=UTC)
    except ValueError:
        return _EPOCH


def instant(moment: datetime) -> str:
    """An R5/R4 ``instant`` in UTC to the second (``2025-11-19T00:00:00Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _source_document(t: Trial, nct_id: str) -> JSON:
    """The contained DocumentReference standing for the registry record (https://hl7.org/fhir/R5/documentreference.html)."""
    date = _record_date(t)
    description = f"ClinicalTrials.gov record {nct_id}" + (f", last update posted {date}" if date else "")
    return pruned(
        {
            "resourceType": "DocumentReference",
            "id": SOURCE,
            "identifier": [{"system": terminology.system("nct"), "value": nct_id}],
            "version": date,
            "status": "current",
            "description": description,
            "custodian": {"display": "ClinicalTrials.gov"},
            "content": [{"attachment": {"url": STUDY_PAGE + nct_id, "creation": date}}],
        }
    )


def _device() -> JSON:
    """The contained Device standing for fhir-adapter (https://hl7.org/fhir/R5/device.html)."""
    return {
        "resourceType": "Device",
        "id": AGENT,
        "name": [{"value": AGENT, "type": "user-friendly-name"}],
        "version": [{"value": version()}],
    }


def _has_atoms(resource: JSON) -> bool:
    """True for an EvidenceVariable with a criterion (linkId ``inc-``/``exc-``) made computable from its text."""
    return any(
        str(c.get("linkId", ""))[:3] in ("inc", "exc") and any(k.startswith("definition") for k in c)
        for c in resource.get("characteristic", [])
    )


def _derived(resources: dict[str, JSON]) -> str:
    """The activity's text: what of the bundle was derived from free text rather than copied from fields."""
    found = {
        "computable eligibility criteria": any(
            r.get("resourceType") == "EvidenceVariable" and _has_atoms(r) for r in resources.values()
        ),
        "treatment regimens": any(r.get("resourceType") == "ActivityDefinition" for r in resources.values()),
        "the schedule of assessments": any(r.get("name") == "ScheduleOfActivities" for r in resources.values()),
    }
    derived = [what for what, present in found.items() if present]
    said = f"; {', '.join(derived)} derived from its free text (the verbatim text kept beside)" if derived else ""
    return "ClinicalTrials.gov record converted to FHIR by fhir-adapter" + said


def to_provenance(t: Trial, resources: dict[str, JSON], recorded: datetime) -> tuple[str, JSON]:
    """(fullUrl, Provenance) of a trial whose R5 resources are ``resources`` (fullUrl -> resource)."""
    assert t.nct_id is not None
    nct_id = t.nct_id
    source = _source_document(t, nct_id)
    prov = {
        "resourceType": "Provenance",
        "id": resource_id(nct_id, "Provenance", ""),
        "contained": [_device(), source],
        "target": [{"reference": url} for url in resources],
        "recorded": instant(recorded),
        "activity": {
            "coding": [{"system": DATA_OPERATION, "code": "CREATE", "display": "create"}],
            "text": _derived(resources),
        },
        "agent": [
            {
                "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler", "display": "Assembler"}]},
                "who": {"reference": f"#{AGENT}", "display": f"{AGENT} {version()}"},
            }
        ],
        "entity": [{"role": "source", "what": {"reference": f"#{SOURCE}", "display": source["description"]}}],
    }
    return provenance_url(nct_id), prov
