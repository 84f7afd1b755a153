"""The Provenance of one trial's bundle: where the record came from, what made the resources, and when.

https://hl7.org/fhir/R5/provenance.html. One Provenance per trial (id: uuid5 of the NCT id, ``fhir.ids``), last in
the bundle:

- ``target``: every other resource of the bundle (by fullUrl; servers rewrite them in a transaction);
- ``entity`` (role ``source``): the registry record, by identifier (ClinicalTrials.gov's system and the NCT id),
  its display naming the record's version (its last-update-posted date) and its public page. Deliberately not the
  local file it was read from: a path names users, hosts and folder layouts, which a hospital's security review
  would not want sent to a FHIR server, and it means nothing to a reader of that server; the public record and its
  date identify the source for anyone. (It also keeps the Provenance a function of what a bundle round-trips, so
  that ``to_bundle(from_bundle(b)) == b``.);
- ``agent``: fhir-adapter and its version (``who.display``), as the ``assembler``;
- ``activity``: ``CREATE``, its text saying what was derived from free text (computable eligibility criteria,
  treatment regimens, the schedule of assessments) rather than copied from fields;
- ``recorded``: the caller's time (``bundle.to_bundle``'s clock), by default the record's own last-update date at
  00:00 UTC, so that output is byte-stable and pushing a trial twice changes nothing (left out when the record has
  no date at all; R4, where it is required, then says 1970-01-01, ``fhir.r4.provenance``).

References are logical (identifier and display), not contained resources: every reference of a bundle is one of
its fullUrls, and the shape is the same in R4 (``fhir.r4.provenance``). Codes: provenance-participant-type
``assembler`` (https://terminology.hl7.org/CodeSystem-provenance-participant-type.html) and v3-DataOperation
``CREATE`` (https://terminology.hl7.org/CodeSystem-v3-DataOperation.html), each written once its system is listed in
``mappings/systems.json`` (every system the output uses is; until then the concept is its text alone).
"""

from __future__ import annotations

from datetime import UTC, datetime

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, compact, pruned_at
from fhir_adapter.fhir.ids import full_url, resource_id
from fhir_adapter.model import Trial

__all__ = ["AGENT", "instant", "provenance_url", "record_time", "to_provenance"]

AGENT = "fhir-adapter"
# (mappings/systems.json name, code, display) of the agent's type and of the activity.
ASSEMBLER = ("provenance-participant-type", "assembler", "Assembler")
CREATE = ("v3-data-operation", "CREATE", "create")
STUDY_PAGE = "https://clinicaltrials.gov/study/"  # the public page of a record, by NCT id


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


def record_time(t: Trial) -> datetime | None:
    """The default ``recorded`` time: the record's version date at 00:00 UTC (a month or a year at its first day);
    None when the record has no date at all (R5 ``recorded`` is optional: it is then left out)."""
    text = _record_date(t)
    parts = [*(text or "").split("T")[0].split("-"), "01", "01"][:3]
    try:
        return datetime(int(parts[0]), int(parts[1]), int(parts[2]), tzinfo=UTC)
    except ValueError:
        return None


def instant(moment: datetime) -> str:
    """An R5/R4 ``instant`` in UTC to the second (``2025-11-19T00:00:00Z``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _source(t: Trial, nct_id: str) -> JSON:
    """The registry record as a logical reference: its identifier, and its version and public page in words."""
    date = _record_date(t)
    said = f"ClinicalTrials.gov record {nct_id}" + (f", last update posted {date}" if date else "")
    return {
        "identifier": compact(system=terminology.system("nct"), value=nct_id),
        "display": f"{said}: {STUDY_PAGE}{nct_id}",
    }


def _concept(coding: tuple[str, str, str], text: str) -> JSON:
    """A CodeableConcept with ``text``, and the coding when ``mappings/systems.json`` lists its system."""
    name, code, display = coding
    try:
        system = terminology.system(name)
    except LookupError:
        return {"text": text}
    return {"coding": [{"system": system, "code": code, "display": display}], "text": text}


def _has_atoms(resource: JSON) -> bool:
    """True for an EvidenceVariable with a criterion (linkId ``inc-``/``exc-``) made computable from its text."""
    return any(
        str(c.get("linkId", ""))[:3] in ("inc", "exc") and any(k.startswith("definition") for k in c)
        for c in resource.get("characteristic", [])
    )


def _derived(resources: dict[str, JSON]) -> str:
    """The activity's text: what of the bundle was derived from free text rather than copied from fields."""
    atoms = regimens = schedule = False
    for r in resources.values():  # one pass: a site-heavy bundle has hundreds of resources
        rtype = r.get("resourceType")
        atoms = atoms or (rtype == "EvidenceVariable" and _has_atoms(r))
        regimens = regimens or rtype == "ActivityDefinition"
        schedule = schedule or r.get("name") == "ScheduleOfActivities"
    found = {
        "computable eligibility criteria": atoms,
        "treatment regimens": regimens,
        "the schedule of assessments": schedule,
    }
    derived = [what for what, present in found.items() if present]
    said = f"; {', '.join(derived)} derived from its free text (the verbatim text kept beside)" if derived else ""
    return "ClinicalTrials.gov record converted to FHIR by fhir-adapter" + said


def to_provenance(t: Trial, resources: dict[str, JSON], recorded: datetime | None) -> tuple[str, JSON]:
    """(fullUrl, Provenance) of a trial whose R5 resources are ``resources`` (fullUrl -> resource)."""
    assert t.nct_id is not None
    rid = resource_id(t.nct_id, "Provenance", "")
    prov = {
        "resourceType": "Provenance",
        "id": rid,
        "target": [{"reference": url} for url in resources],
        "recorded": instant(recorded) if recorded else None,
        "activity": _concept(CREATE, _derived(resources)),
        "agent": [{"type": _concept(ASSEMBLER, "assembler"), "who": {"display": f"{AGENT} {version()}"}}],
        "entity": [{"role": "source", "what": _source(t, t.nct_id)}],
    }
    # built without empty elements below the top level: ``target`` (one fullUrl reference per resource), the activity
    # and agent (constants, a systems.json URI, the never-empty activity text), the entity (the NCT id: never empty in
    # a bundle); only an absent ``recorded`` is dropped
    return full_url(rid), pruned_at(prov, ())
