"""A patient's FHIR data (R4 or R5) as neutral facts for ``match``: who (birth date, gender) and what was recorded
(observations, conditions, procedures, medications), each with its codes, value, dates and the resource it came from.

Read: Patient (https://hl7.org/fhir/R5/patient.html), Observation (value, components, referenceRange:
https://hl7.org/fhir/R5/observation.html), Condition (https://hl7.org/fhir/R5/condition.html), Procedure
(``performed[x]`` in R4, ``occurrence[x]`` in R5: https://hl7.org/fhir/R5/procedure.html), MedicationStatement,
MedicationRequest and MedicationAdministration (``medication[x]`` in R4, the CodeableReference ``medication`` in R5;
``effective[x]`` in R4, ``occurence[x]`` in R5 MedicationAdministration: https://hl7.org/fhir/R5/medicationadministration.html),
with ``Medication`` resources they reference. Both releases are read by the same code: each element is looked up
under its R4 and its R5 name, so an R4 and an R5 bundle of the same patient give the same facts.

Records that say nothing (``entered-in-error``) are dropped; records that deny (a refuted Condition, a
MedicationStatement ``not-taken``) are kept as ``negated`` facts: they are evidence of absence. Codings are kept
with their system's short name from ``mappings/systems.json`` (an unknown system keeps its URI), never by text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.errors import SourceError

JSON = dict[str, Any]
OBSERVATION, CONDITION, PROCEDURE, MEDICATION = "observation", "condition", "procedure", "medication"
_MEDICATION_TYPES = ("MedicationStatement", "MedicationRequest", "MedicationAdministration")
# Statuses that withdraw a record (every resource type above has entered-in-error), or say it has not happened yet.
_VOID = {"entered-in-error", "cancelled", "draft", "intended", "preparation", "planned"}
# Statuses that deny the event: R4 MedicationStatement not-taken, a procedure not done.
_DENIED = {"not-taken", "not-done"}
# Statuses of a medication or procedure that has ended (an open period then means: end not recorded).
_ENDED = {"completed", "stopped", "inactive", "ended"}


@dataclass(frozen=True, slots=True)
class Quantity:
    """A measured value: ``unit`` the UCUM code when the quantity's system is UCUM (else None, kept in
    ``unit_text``); ``comparator`` as recorded (a censored value, "<0.5")."""

    value: float
    unit: str | None = None
    unit_text: str | None = None
    comparator: str | None = None


@dataclass(frozen=True, slots=True)
class Fact:
    """One recorded thing about the patient. ``codes`` are (system short name, code) pairs; ``start``/``end`` the
    dates it held (a point in time has ``end`` = ``start``; ``end`` None while it goes on)."""

    category: str  # observation | condition | procedure | medication
    reference: str  # "Observation/abc", or the entry's fullUrl when the resource has no id
    codes: frozenset[tuple[str, str]]
    start: date | None = None
    end: date | None = None
    ongoing: bool = False
    quantity: Quantity | None = None
    value_codes: frozenset[tuple[str, str]] = frozenset()
    value_text: str | None = None
    low: Quantity | None = None  # referenceRange[0].low
    high: Quantity | None = None  # referenceRange[0].high
    negated: bool = False  # a refuted condition, a medication not taken
    status: str | None = None  # clinicalStatus (conditions) or status


@dataclass(slots=True)
class PatientFacts:
    """Everything ``match`` knows about one patient."""

    reference: str
    birth_date: str | None = None  # as recorded: "1970", "1970-05", "1970-05-12"
    gender: str | None = None  # administrative gender: male | female | other | unknown
    facts: list[Fact] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # what was not read, and why


def resources_of(document: Any, path: str = "<patient>") -> list[JSON]:
    """The resources of a patient document: a Bundle (any type), a JSON list of resources, or one resource.
    ``SourceError`` (naming ``path`` and the field) when it is not FHIR."""
    if isinstance(document, list):
        items = document
    elif isinstance(document, dict) and document.get("resourceType") == "Bundle":
        entries = document.get("entry", [])
        if not isinstance(entries, list):
            raise SourceError("Bundle.entry is not a list", path=path, field="Bundle.entry")
        items = [e.get("resource") for e in entries if isinstance(e, dict)]
    elif isinstance(document, dict) and isinstance(document.get("resourceType"), str):
        items = [document]
    else:
        raise SourceError("not FHIR: a resource, a Bundle or a list of resources expected", path=path)
    resources = [r for r in items if isinstance(r, dict) and isinstance(r.get("resourceType"), str)]
    if not resources:
        raise SourceError("not FHIR: no resource with a resourceType", path=path, field="resourceType")
    return resources


def full_urls_of(document: Any) -> dict[str, str]:
    """``Type/id`` -> the entry's absolute ``fullUrl`` (http or https) for every entry of a Bundle that has one:
    the URLs by which the results can cite a patient's resources outside the patient's own Bundle."""
    if not isinstance(document, dict) or not isinstance(document.get("entry"), list):
        return {}
    found: dict[str, str] = {}
    for entry in document["entry"]:
        resource = entry.get("resource") if isinstance(entry, dict) else None
        url = entry.get("fullUrl") if isinstance(entry, dict) else None
        if isinstance(resource, dict) and isinstance(url, str) and url.startswith(("http://", "https://")):
            found[f"{resource.get('resourceType')}/{resource.get('id')}"] = url
    return found


def read_patient(resources: list[JSON], path: str = "<patient>") -> PatientFacts:
    """The facts of the one Patient among ``resources``. ``SourceError`` when there is no Patient or more than one
    (whose data would the others be?)."""
    patients = [r for r in resources if r.get("resourceType") == "Patient"]
    if len(patients) != 1:
        found = "no Patient resource" if not patients else f"{len(patients)} Patient resources (one expected)"
        raise SourceError(found, path=path, field="Patient")
    patient = patients[0]
    reference = f"Patient/{patient.get('id', '')}" if patient.get("id") else "Patient"
    birth = patient.get("birthDate")
    gender = patient.get("gender")
    facts = PatientFacts(
        reference, birth if isinstance(birth, str) else None, gender if isinstance(gender, str) else None
    )
    medications = {f"Medication/{r.get('id')}": r for r in resources if r.get("resourceType") == "Medication"}
    for resource in resources:
        for fact in _facts(resource, medications):
            facts.facts.append(fact)
    return facts


def _facts(resource: JSON, medications: dict[str, JSON]) -> list[Fact]:
    rtype = resource["resourceType"]
    if _status(resource) in _VOID:
        return []
    if rtype == "Observation":
        return _observation(resource)
    if rtype == "Condition":
        return [_condition(resource)]
    if rtype == "Procedure":
        return [_procedure(resource)]
    if rtype in _MEDICATION_TYPES:
        return [_medication(resource, medications)]
    return []


def _status(resource: JSON) -> str | None:
    status = resource.get("status")
    if isinstance(status, str):
        return status
    verification = _plain_codes(resource.get("verificationStatus"))
    return "entered-in-error" if "entered-in-error" in verification else None


def _reference(resource: JSON) -> str:
    return f"{resource['resourceType']}/{resource.get('id', '')}"


def codes_of(concept: Any) -> frozenset[tuple[str, str]]:
    """(system short name, code) of every coding of a CodeableConcept (an unknown system keeps its URI)."""
    if not isinstance(concept, dict):
        return frozenset()
    pairs: set[tuple[str, str]] = set()
    for coding in concept.get("coding", []) if isinstance(concept.get("coding"), list) else []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str) and isinstance(coding.get("system"), str):
            uri: str = coding["system"]
            pairs.add((terminology.system_name(uri) or uri, coding["code"]))
    return frozenset(pairs)


def _plain_codes(concept: Any) -> set[str]:
    return {code for _, code in codes_of(concept)}


def quantity_of(q: Any) -> Quantity | None:
    """A FHIR Quantity as a ``Quantity``: the UCUM code when ``system`` is UCUM, else no unit (kept as text)."""
    if not isinstance(q, dict) or not isinstance(q.get("value"), int | float) or isinstance(q.get("value"), bool):
        return None
    ucum = q.get("system") == terminology.system("ucum") and isinstance(q.get("code"), str)
    return Quantity(
        float(q["value"]),
        unit=q["code"] if ucum else None,
        unit_text=q.get("unit") if isinstance(q.get("unit"), str) else q.get("code"),
        comparator=q.get("comparator") if isinstance(q.get("comparator"), str) else None,
    )


def parse_date(value: Any) -> date | None:
    """The date of a FHIR date or dateTime (``2026-11-20``, ``2026-11-20T08:00:00Z``); a partial date (``2026``,
    ``2026-11``) is not a day and gives None: it cannot be placed in a window."""
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _when(resource: JSON, *names: str) -> tuple[date | None, date | None, bool]:
    """(start, end, open) of the first ``<name>DateTime`` / ``<name>Period`` / ``<name>Instant`` present."""
    for name in names:
        if f"{name}DateTime" in resource or f"{name}Instant" in resource:
            day = parse_date(resource.get(f"{name}DateTime", resource.get(f"{name}Instant")))
            return day, day, False
        period = resource.get(f"{name}Period")
        if isinstance(period, dict):
            return parse_date(period.get("start")), parse_date(period.get("end")), "end" not in period
    return None, None, False


def _observation(resource: JSON) -> list[Fact]:
    start, end, _ = _when(resource, "effective")
    start = start or parse_date(resource.get("issued"))
    ranges = resource.get("referenceRange") if isinstance(resource.get("referenceRange"), list) else []
    first = ranges[0] if ranges and isinstance(ranges[0], dict) else {}
    low, high = quantity_of(first.get("low")), quantity_of(first.get("high"))
    facts = [_measured(resource, resource, start, end or start, low, high)]
    for component in resource.get("component", []) if isinstance(resource.get("component"), list) else []:
        if isinstance(component, dict):
            c_ranges = component.get("referenceRange") if isinstance(component.get("referenceRange"), list) else []
            c_first = c_ranges[0] if c_ranges and isinstance(c_ranges[0], dict) else {}
            facts.append(
                _measured(
                    resource,
                    component,
                    start,
                    end or start,
                    quantity_of(c_first.get("low")),
                    quantity_of(c_first.get("high")),
                )
            )
    return facts


def _measured(
    resource: JSON, part: JSON, start: date | None, end: date | None, low: Quantity | None, high: Quantity | None
) -> Fact:
    """One Observation (or one of its components) with its value: valueQuantity, valueInteger (a score, no unit)
    or valueCodeableConcept."""
    quantity = quantity_of(part.get("valueQuantity"))
    integer = part.get("valueInteger")
    if quantity is None and isinstance(integer, int) and not isinstance(integer, bool):
        quantity = Quantity(float(integer))
    value = part.get("valueCodeableConcept")
    return Fact(
        OBSERVATION,
        _reference(resource),
        codes_of(part.get("code")),
        start,
        end,
        quantity=quantity,
        value_codes=codes_of(value),
        value_text=value.get("text") if isinstance(value, dict) and isinstance(value.get("text"), str) else None,
        low=low,
        high=high,
        status=_status(resource),
    )


def _condition(resource: JSON) -> Fact:
    start, _, _ = _when(resource, "onset")
    start = start or parse_date(resource.get("recordedDate"))
    end, _, _ = _when(resource, "abatement")
    clinical = next(iter(sorted(_plain_codes(resource.get("clinicalStatus")))), None)
    refuted = "refuted" in _plain_codes(resource.get("verificationStatus"))
    return Fact(
        CONDITION,
        _reference(resource),
        codes_of(resource.get("code")),
        start,
        end,
        ongoing=end is None and clinical in (None, "active", "recurrence", "relapse"),
        negated=refuted,
        status=clinical,
    )


def _procedure(resource: JSON) -> Fact:
    start, end, open_ = _when(resource, "performed", "occurrence")
    status = _status(resource)
    denied = status in _DENIED
    return Fact(
        PROCEDURE,
        _reference(resource),
        codes_of(resource.get("code")),
        start,
        end,
        ongoing=open_ and status not in _ENDED and not denied,
        negated=denied,
        status=status,
    )


def _medication(resource: JSON, medications: dict[str, JSON]) -> Fact:
    """A medication record: its codes (``medicationCodeableConcept`` R4, ``medication.concept`` R5, or the
    referenced Medication's ``code``), when (``effective[x]``, R5 ``occurence[x]``, MedicationRequest
    ``authoredOn``), whether it goes on, and whether it was not taken (R4 status ``not-taken``, R5
    ``adherence.code`` ``not-taking``: https://hl7.org/fhir/R5/medicationstatement.html)."""
    med = resource.get("medication")
    concept = resource.get("medicationCodeableConcept") or (med.get("concept") if isinstance(med, dict) else None)
    ref = resource.get("medicationReference") or (med.get("reference") if isinstance(med, dict) else None)
    if concept is None and isinstance(ref, dict) and isinstance(ref.get("reference"), str):
        target = medications.get("/".join(ref["reference"].split("/")[-2:]))
        concept = target.get("code") if target else None
    start, end, open_ = _when(resource, "effective", "occurence", "occurrence")
    if start is None:  # a MedicationRequest: authored then, going on while the request is active
        start, end, open_ = parse_date(resource.get("authoredOn")), None, True
    status = _status(resource)
    adherence = resource.get("adherence")
    denied = status in _DENIED or "not-taking" in _plain_codes(
        adherence.get("code") if isinstance(adherence, dict) else None
    )
    return Fact(
        MEDICATION,
        _reference(resource),
        codes_of(concept),
        start,
        end,
        ongoing=open_ and status not in _ENDED and not denied,
        negated=denied,
        status=status,
    )
