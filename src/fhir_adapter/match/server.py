"""Read what ``match`` screens from a FHIR server: one patient's resources, and the trials (the EHR use: pull, then
screen).

- :func:`patient_resources_from_server`: ``GET Patient/ID``, then ``Observation``, ``Condition``, ``Procedure``,
  ``MedicationStatement``, ``MedicationRequest`` and ``MedicationAdministration`` searched with ``patient=Patient/ID``
  (a search parameter of each of them in R4 and R5), following ``next`` links, and the ``Medication`` resources
  the medication resources reference. https://hl7.org/fhir/R5/search.html#paging
- :func:`trials_from_server`: ``fhir_adapter.sinks.server.pull`` (ResearchStudy and everything it references:
  EvidenceVariable, Group, PlanDefinition ..., and the ActivityDefinitions the PlanDefinitions name by canonical,
  fetched the one way ``pull`` fetches them), each pulled bundle read back with ``bundle.from_bundle``.

Transport, retries, TLS and credentials are :class:`~fhir_adapter.sinks.server.FhirClient`'s. What this module adds
is the paging policy for patient data, with explicit limits (:class:`ServerLimits`):

- a ``next`` link to another origin (scheme, host, port) than the base URL is not followed: the client's session
  would send it the credentials meant for the base URL, and data from another server is not this patient's record;
- a search longer than ``max_pages`` pages, or a patient with more than ``max_resources`` resources, is an error,
  never a silent cut: a record read in part could hide the exclusion that decides a trial, and ``match`` must never
  say ``met`` on data it did not read;
- a resource whose ``subject`` is not the patient asked for is dropped (logged): a server that ignores the
  ``patient`` parameter must not mix another person's data into the screening.

Layering: docs/architecture.md; what ``match`` does with the data: the computable contract (docs/computable.md),
section 3.
"""

from __future__ import annotations

import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from fhir_adapter.errors import FhirAdapterError, FhirServerError, PagingLimitError
from fhir_adapter.model import Trial
from fhir_adapter.sinks.server import FhirClient, SearchQuery, pull
from fhir_adapter.sinks.server.entries import refs_of, type_id

__all__ = [
    "DEFAULT_SERVER_LIMITS",
    "PATIENT_DATA_TYPES",
    "PatientDataLimit",
    "ServerLimits",
    "ServerTrials",
    "full_urls_on_server",
    "patient_resources_from_server",
    "trials_from_server",
]

log = logging.getLogger(__name__)

# The resource types ``match`` reads (the computable contract, section 3); each has the ``patient`` search parameter
# in R4 and R5: https://hl7.org/fhir/R4/searchparameter-registry.html, https://hl7.org/fhir/R5/searchparameter-registry.html
PATIENT_DATA_TYPES = (
    "Observation",
    "Condition",
    "Procedure",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationAdministration",
)
# a FHIR id: https://hl7.org/fhir/R5/datatypes.html#id
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
# where a trial's criteria are: R5 ResearchStudy.recruitment.eligibility, R4 ResearchStudy.enrollment
_CRITERIA_TYPES = ("EvidenceVariable", "Group")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """How much of a patient's record is read from a server.

    The defaults sit far above a real screening record (a few hundred Observations) and far below what would hold
    the run for long: 50 pages of 200 per resource type, 20,000 resources in all."""

    page_size: int = 200  # ``_count``; HAPI answers at most 500 a page, the Medplum front 1,000
    max_pages: int = 50  # pages of one search
    max_resources: int = 20_000  # resources of the patient, all types together


DEFAULT_SERVER_LIMITS = ServerLimits()


class PatientDataLimit(FhirServerError):
    """The patient's record on the server is larger than :class:`ServerLimits` allows (never read in part)."""


@dataclass(slots=True)
class ServerTrials:
    """The trials read from a server, and one line per study that could not be read whole."""

    trials: list[Trial] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ================================================================================================== patient data


def patient_resources_from_server(
    client: FhirClient, patient_id: str, *, limits: ServerLimits = DEFAULT_SERVER_LIMITS
) -> list[dict[str, Any]]:
    """The Patient ``patient_id`` and its Observations, Conditions, Procedures and medication resources (with the
    Medication resources they reference), as the server holds them (R4 or R5, the release ``client`` checks).

    Raises ``ValueError`` for an id that is no FHIR id, :class:`~fhir_adapter.errors.FhirServerError` when the
    server has no such Patient or fails, :class:`PatientDataLimit` over a limit."""
    if not _FHIR_ID.fullmatch(patient_id):
        raise ValueError(f"{patient_id!r} is not a FHIR id (1 to 64 of A-Z a-z 0-9 - .)")
    client.check_version()
    patient = _patient(client, patient_id)
    reference = f"Patient/{patient['id']}"
    budget = _Budget(limits, reference)
    budget.take(1)
    resources: list[dict[str, Any]] = [patient]
    for resource_type in PATIENT_DATA_TYPES:
        params = {"patient": reference, "_count": str(limits.page_size)}
        for resource in _search(client, resource_type, params, budget):
            if _subject(resource) == reference:
                resources.append(resource)
            else:
                log.warning(
                    "%s/%s: its subject is %s, not %s: left out",
                    resource_type,
                    resource.get("id"),
                    _subject(resource) or "missing",
                    reference,
                )
    resources += _medications(client, resources, budget)
    return resources


def full_urls_on_server(client: FhirClient, resources: Iterable[dict[str, Any]]) -> dict[str, str]:
    """``Type/id`` -> ``<base>/Type/id`` for each resource read from the server: the absolute URLs by which
    ``match``'s results cite the evidence (``match.output.to_searchset``'s ``full_urls``)."""
    return {
        f"{r['resourceType']}/{r['id']}": f"{client.base_url}/{r['resourceType']}/{r['id']}"
        for r in resources
        if isinstance(r.get("resourceType"), str) and isinstance(r.get("id"), str)
    }


def _patient(client: FhirClient, patient_id: str) -> dict[str, Any]:
    try:
        patient = client.read("Patient", patient_id)
    except FhirServerError as e:
        if e.status in (404, 410):
            raise FhirServerError(
                f"{client.base_url}: no Patient/{patient_id} on the server (HTTP {e.status})",
                status=e.status,
                url=e.url,
            ) from None
        raise
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient" or patient.get("id") != patient_id:
        raise FhirServerError(f"GET {client.url(f'Patient/{patient_id}')}: the reply is not that Patient")
    return patient


class _Budget:
    """The resources read so far, against ``max_resources``."""

    def __init__(self, limits: ServerLimits, patient: str) -> None:
        self.limits = limits
        self.patient = patient
        self.count = 0

    def take(self, n: int) -> None:
        self.count += n
        if self.count > self.limits.max_resources:
            raise PatientDataLimit(
                f"{self.patient} has more than {self.limits.max_resources} resources on the server "
                "(ServerLimits.max_resources): not screened on part of its record"
            )


def _search(
    client: FhirClient, resource_type: str, params: dict[str, str], budget: _Budget
) -> Iterator[dict[str, Any]]:
    """The resources of ``resource_type`` a search matches (``search.mode`` match), page by page."""
    for page in _pages(client, resource_type, params, budget.limits):
        found = [
            e["resource"]
            for e in page.get("entry", [])
            if isinstance(e, dict)
            and isinstance(e.get("resource"), dict)
            and e["resource"].get("resourceType") == resource_type
            and e.get("search", {}).get("mode", "match") == "match"
        ]
        budget.take(len(found))
        yield from found


def _pages(
    client: FhirClient, resource_type: str, params: dict[str, str], limits: ServerLimits
) -> Iterator[dict[str, Any]]:
    """Every page (searchset Bundle) of a search (``FhirClient.search_pages``: ``next`` links on the base URL's
    origin only, a loop is an error), at most ``limits.max_pages``."""
    try:
        yield from client.search_pages(resource_type, params, max_pages=limits.max_pages)
    except PagingLimitError as e:
        raise PatientDataLimit(
            f"the {resource_type} search has more than {limits.max_pages} pages of {limits.page_size} "
            "(ServerLimits.max_pages): not screened on part of the record",
            url=e.url,
        ) from None


def _subject(resource: dict[str, Any]) -> str | None:
    """The ``Type/id`` the resource's ``subject`` points at (every type of ``PATIENT_DATA_TYPES`` has one)."""
    subject = resource.get("subject")
    ref = subject.get("reference") if isinstance(subject, dict) else None
    return type_id(ref) if isinstance(ref, str) else None


def _medication_refs(resources: Iterable[dict[str, Any]]) -> list[str]:
    """The ``Medication/id`` the medication resources reference: R4 ``medicationReference``, R5 ``medication``
    (a CodeableReference). https://hl7.org/fhir/R5/medicationstatement.html"""
    refs: list[str] = []
    for r in resources:
        r4 = r.get("medicationReference")
        r5 = r.get("medication", {}).get("reference") if isinstance(r.get("medication"), dict) else None
        for ref in (r4, r5):
            target = (
                type_id(ref["reference"]) if isinstance(ref, dict) and isinstance(ref.get("reference"), str) else None
            )
            if target and target.startswith("Medication/"):
                refs.append(target)
    return list(dict.fromkeys(refs))


def _medications(client: FhirClient, resources: list[dict[str, Any]], budget: _Budget) -> list[dict[str, Any]]:
    """The Medication resources referenced, read by ``_id`` in chunks (a Medication the server does not have is
    left out: the medication resource's own code, if any, still counts)."""
    ids = [ref.partition("/")[2] for ref in _medication_refs(resources)]
    found: list[dict[str, Any]] = []
    chunk = max(1, min(budget.limits.page_size, 50))  # 50 ids keep the URL well under 8 KB
    for start in range(0, len(ids), chunk):
        part = ids[start : start + chunk]
        found += _search(client, "Medication", {"_id": ",".join(part), "_count": str(len(part))}, budget)
    missing = set(ids) - {m.get("id") for m in found}
    for m in sorted(missing):
        log.warning("Medication/%s: referenced by %s's medications but not on the server", m, budget.patient)
    return found


# ================================================================================================== trials


def trials_from_server(client: FhirClient, identifiers: Iterable[str] = ()) -> ServerTrials:
    """The trials on the server (those with the NCT ids ``identifiers``, else every ResearchStudy), each rebuilt
    from its ResearchStudy and what that references, by ``fhir_adapter.sinks.server.pull``.

    A study whose criteria cannot be read whole (an EvidenceVariable or Group it references that the server does
    not hold, a bundle ``from_bundle`` refuses) is a line in ``problems`` and not a trial: screening it on part of
    its criteria could say eligible where an unread exclusion decides. ``pull``'s own problems (other unresolved
    references) and NCT ids asked for and not found are lines in ``problems`` too."""
    wanted = list(dict.fromkeys(identifiers))
    result = ServerTrials()
    with tempfile.TemporaryDirectory(prefix="fhir-adapter-match-") as tmp:
        summary = pull(client, Path(tmp), SearchQuery(identifiers=wanted))
        result.problems += summary.problems
        for path in summary.written:
            bundle = orjson.loads(path.read_bytes())
            missing = _unresolved_criteria(bundle)
            if missing:
                result.problems.append(f"{path.stem}: not screened: its criteria {', '.join(missing)} are missing")
                continue
            try:
                result.trials.append(_trial(bundle))
            except FhirAdapterError as e:
                result.problems.append(f"{path.stem}: cannot read the pulled trial: {e}")
    got = {t.nct_id for t in result.trials} | {p.split(":", 1)[0] for p in result.problems}
    result.problems += [f"{nct}: not found on the server" for nct in wanted if nct not in got]
    return result


def _unresolved_criteria(bundle: dict[str, Any]) -> list[str]:
    """The ``Type/id`` of the EvidenceVariable and Group resources the bundle references and does not hold."""
    held = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle.get("entry", [])}
    refs = {type_id(r) for r in refs_of(bundle) if not r.startswith("#")}
    return sorted(r for r in refs if r and r.partition("/")[0] in _CRITERIA_TYPES and r not in held)


def _trial(bundle: dict[str, Any]) -> Trial:
    from fhir_adapter.bundle import from_bundle

    return from_bundle(bundle)
