"""Code tables: ClinicalTrials.gov API v2 enum tokens <-> FHIR codings, and legacy wording -> v2 tokens.

Everything here is read from the JSON files in ``mappings/`` (no code lists in Python):

- ``systems.json``: every system URI the project uses, by short name.
- ``ctgov-enums.json``: the API v2 enum value lists per axis (ClinicalTrials.gov OpenAPI 2.0.0-draft).
- ``ctgov-<axis>.conceptmap.json``: one FHIR R5 `ConceptMap <https://hl7.org/fhir/R5/conceptmap.html>`_ per axis.
  Group 1 maps the API v2 token to the FHIR code (R5); group 2 maps legacy ``clinical_study`` XML and API v1
  wording to the v2 token. ``ctgov-<axis>-r4.conceptmap.json`` holds the R4/R4B code where it differs
  (overall-status, phase, primary-purpose, outcome-type); other axes use the R5 map for every release.
- ``research-study-registration.json``: where the registry's dated milestones, oversight facts and data-sharing plan
  go in an R5 ResearchStudy (HL7's ``researchStudy-studyRegistration`` extension, ``overall-study``, classifiers),
  with the source of every code; :func:`registration_table`.
- ``fhir-r4-r5.json``: what changes between the R5 resources and their R4 form (R4 value sets of required bindings,
  renamed ResearchStudy elements, the children of R5 elements carried as complex cross-version extensions);
  :func:`r4_codes`, :func:`r4_fallback`, :func:`renamed_elements`, :func:`unchanged_elements`,
  :func:`release_only_elements`, :func:`complex_extension`.

Conventions in the ConceptMaps (see ``mappings/README.md``):

- ``noMap: true`` elements carry their reason in the extension ``<fhir-adapter-ext>conceptmap-nomap-comment``;
  :func:`to_fhir` returns None for them (the mapper keeps the ct.gov coding and the text).
- When several tokens map to the same FHIR code, the target carrying the extension
  ``<fhir-adapter-ext>conceptmap-canonical-reverse`` (valueBoolean true) is what :func:`from_fhir` returns; without
  it the first element in file order wins.
- Combined phases are elements with the source code ``PHASE1|PHASE2`` / ``PHASE2|PHASE3``
  (:func:`phase_code`, :func:`phase_tokens`, :func:`normalize_phase`).

Axis names: overall-status, phase, study-type, allocation, intervention-model, observational-model,
time-perspective, masking, who-masked, primary-purpose, arm-type, intervention-type, sex, sponsor-class,
official-role, contact-role, responsible-party-type, outcome-type, reference-type, secondary-id-type,
recruitment-status, date-type, std-age.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import fhir_adapter
from fhir_adapter.release import FhirRelease

__all__ = [
    "Coding",
    "ComplexChild",
    "all_systems",
    "axes",
    "characteristic_offsets",
    "complex_extension",
    "ctgov_coding",
    "ctgov_display",
    "ctgov_system",
    "enum_values",
    "from_fhir",
    "legacy_masking",
    "mappings_dir",
    "normalize",
    "normalize_phase",
    "phase_code",
    "phase_tokens",
    "r4_codes",
    "r4_fallback",
    "registration_table",
    "release_only_elements",
    "renamed_elements",
    "system",
    "to_fhir",
    "unchanged_elements",
]

_NOMAP_EXT = "conceptmap-nomap-comment"
_CANONICAL_EXT = "conceptmap-canonical-reverse"
_COMBINED_SEP = "|"
_RELEASE_SUFFIX = {FhirRelease.R5: "", FhirRelease.R4: "-r4"}
# R4B (4.3.0) has R4's ResearchStudy code lists (mappings/README.md): it reads the R4 tables.
_R4B = "R4B"
_KEY_SEPARATORS = re.compile(r"[\s_\-]+")
# (?<!\s): the spaces before "(" are matched from the first one only; the lazy head would otherwise re-scan the
# run of spaces after each of its characters (quadratic). Same head: the text before "(" without its trailing spaces.
_PARENTHESISED = re.compile(r"(?P<head>[^()]*?)(?<!\s)\s*\((?P<inner>[^()]*)\)\s*")
_LIST_SEPARATORS = re.compile(r"[,;]")


@dataclass(frozen=True, slots=True)
class Coding:
    """A FHIR `Coding <https://hl7.org/fhir/R5/datatypes.html#Coding>`_ (system, code, display)."""

    system: str
    code: str
    display: str | None = None

    def to_fhir(self) -> dict[str, str]:
        """The JSON form of this Coding (``display`` left out when None)."""
        out = {"system": self.system, "code": self.code}
        if self.display is not None:
            out["display"] = self.display
        return out


@dataclass(frozen=True, slots=True)
class _AxisMap:
    """Group 1 of one ConceptMap, indexed both ways."""

    forward: dict[str, Coding | None]  # v2 token (or "PHASE1|PHASE2") -> FHIR coding, None for noMap
    reverse: dict[str, str]  # FHIR code -> v2 token
    displays: dict[str, str]  # v2 token -> ct.gov display


# --------------------------------------------------------------------------------------------------- loading


@cache
def mappings_dir() -> Path:
    """The ``mappings`` folder: inside the package for a wheel install, else the repository's top-level one."""
    packaged = Path(fhir_adapter.__file__).parent / "mappings"
    if packaged.is_dir():
        return packaged
    repo = Path(__file__).resolve().parents[2] / "mappings"
    if repo.is_dir():
        return repo
    raise FileNotFoundError(f"mappings folder not found (looked in {packaged} and {repo})")


def _load(name: str) -> Any:
    with (mappings_dir() / name).open(encoding="utf-8") as fh:
        return json.load(fh)


@cache
def _systems() -> dict[str, str]:
    raw: dict[str, str] = _load("systems.json")
    return dict(raw)


@cache
def _enums() -> dict[str, tuple[str, ...]]:
    raw: dict[str, Any] = _load("ctgov-enums.json")["axes"]
    return {axis: tuple(entry["values"]) for axis, entry in raw.items()}


def axes() -> tuple[str, ...]:
    """All axis names, in the order of ``ctgov-enums.json``."""
    return tuple(_enums())


def _check_axis(axis: str) -> None:
    if axis not in _enums():
        raise LookupError(f"unknown terminology axis {axis!r}; known axes: {', '.join(_enums())}")


def _release_suffix(release: FhirRelease | str) -> str:
    if isinstance(release, str) and release.upper() == _R4B:
        return _RELEASE_SUFFIX[FhirRelease.R4]
    try:
        return _RELEASE_SUFFIX[FhirRelease.parse(release)]
    except ValueError:
        known = ", ".join([*_RELEASE_SUFFIX, _R4B])
        raise ValueError(f"unknown FHIR release {release!r}; expected one of {known}") from None


@cache
def _conceptmap(axis: str, suffix: str) -> dict[str, Any]:
    """The raw ConceptMap of an axis; a release without its own file (suffix) falls back to the R5 map."""
    _check_axis(axis)
    path = mappings_dir() / f"ctgov-{axis}{suffix}.conceptmap.json"
    if suffix and not path.is_file():
        return _conceptmap(axis, "")
    raw: dict[str, Any] = _load(path.name)
    return raw


def _has_flag(obj: dict[str, Any], ext_name: str) -> bool:
    base = system("fhir-adapter-ext")
    return any(e.get("url") == base + ext_name and e.get("valueBoolean") is True for e in obj.get("extension", []))


@cache
def _axis_map(axis: str, suffix: str) -> _AxisMap:
    group = _conceptmap(axis, suffix)["group"][0]
    target_system: str | None = group.get("target")
    forward: dict[str, Coding | None] = {}
    reverse: dict[str, str] = {}
    displays: dict[str, str] = {}
    for element in group["element"]:
        token: str = element["code"]
        if "display" in element:
            displays[token] = element["display"]
        targets: list[dict[str, Any]] = element.get("target", [])
        if element.get("noMap") or not targets or target_system is None:
            forward[token] = None
            continue
        target = targets[0]
        code: str = target["code"]
        forward[token] = Coding(target_system, code, target.get("display"))
        if _has_flag(target, _CANONICAL_EXT) or code not in reverse:
            reverse[code] = token
    return _AxisMap(forward, reverse, displays)


def _key(value: str) -> str:
    """Spelling-insensitive lookup key: case-folded, trimmed, runs of space/underscore/hyphen -> one space."""
    return _KEY_SEPARATORS.sub(" ", value.strip().casefold()).strip()


@cache
def _spellings(axis: str) -> dict[str, str | None]:
    """Every known spelling of an axis (key form) -> v2 token (None: a known wording without a v2 token)."""
    amap = _axis_map(axis, "")
    out: dict[str, str | None] = {}
    groups = _conceptmap(axis, "")["group"]
    for legacy in groups[1:]:
        for element in legacy["element"]:
            targets: list[dict[str, Any]] = element.get("target", [])
            out.setdefault(_key(element["code"]), None if element.get("noMap") or not targets else targets[0]["code"])
    for token, display in amap.displays.items():
        out[_key(display)] = token
    for token in (*_enums()[axis], *amap.forward):
        out[_key(token)] = token
    return out


# --------------------------------------------------------------------------------------------------- systems


def system(name: str) -> str:
    """The URI of a system by its short name in ``mappings/systems.json`` (e.g. ``"nct"``, ``"ctgov-phase"``)."""
    try:
        return _systems()[name]
    except KeyError:
        raise LookupError(f"unknown system name {name!r} (not in mappings/systems.json)") from None


@cache
def _system_names() -> dict[str, str]:
    return {uri: name for name, uri in _systems().items()}


def system_name(uri: str) -> str | None:
    """The short name of a system URI in ``mappings/systems.json`` (the way back of :func:`system`), None if absent."""
    return _system_names().get(uri)


def all_systems() -> frozenset[str]:
    """Every system URI of ``mappings/systems.json``."""
    return frozenset(_systems().values())


def ctgov_system(axis: str) -> str:
    """The ClinicalTrials.gov API v2 enum system URI of an axis (``https://clinicaltrials.gov/data-api/api#enum-…``)."""
    _check_axis(axis)
    return system(f"ctgov-{axis}")


def enum_values(axis: str) -> tuple[str, ...]:
    """The API v2 enum tokens of an axis, in OpenAPI order."""
    _check_axis(axis)
    return _enums()[axis]


# --------------------------------------------------------------------------------------------------- lookups


def to_fhir(axis: str, token: str, release: FhirRelease | str = FhirRelease.R5) -> Coding | None:
    """The FHIR coding of a ct.gov v2 token; None for a noMap row or an unknown token.

    ``release`` is a :class:`FhirRelease` or its name (``"R5"``, the default, ``"R4"``, ``"r4"``; also ``"R4B"``, which
    reads the R4 tables); R4 uses ``ctgov-<axis>-r4.conceptmap.json`` when it
    exists (see https://hl7.org/fhir/R4/researchstudy.html), else the R5 table.
    """
    return _axis_map(axis, _release_suffix(release)).forward.get(token)


def from_fhir(axis: str, code: str, release: FhirRelease | str = FhirRelease.R5) -> str | None:
    """The ct.gov v2 token for a FHIR code (the canonical one where several tokens share the code); None if unknown.

    For phase the result may be a combined token such as ``"PHASE1|PHASE2"`` (use :func:`phase_tokens`).
    """
    return _axis_map(axis, _release_suffix(release)).reverse.get(code)


def normalize(axis: str, value: str) -> str | None:
    """Any spelling (v2 token, legacy XML wording, API v1 wording, display) -> v2 token; None if unknown.

    Case, surrounding whitespace, and the difference between spaces, hyphens and underscores are ignored. Combined
    phases come back ``|``-joined (``"Phase 1/Phase 2"`` -> ``"PHASE1|PHASE2"``); see :func:`normalize_phase`.
    """
    _check_axis(axis)
    return _spellings(axis).get(_key(value))


def ctgov_display(axis: str, token: str) -> str:
    """A human display of a v2 token (``"NOT_YET_RECRUITING"`` -> ``"Not yet recruiting"``); the token if unknown."""
    amap = _axis_map(axis, "")
    if token in amap.displays:
        return amap.displays[token]
    for legacy in _conceptmap(axis, "")["group"][1:]:
        for element in legacy["element"]:
            targets: list[dict[str, Any]] = element.get("target", [])
            if targets and targets[0]["code"] == token:
                wording: str = element["code"]
                return wording
    return token


def ctgov_coding(axis: str, token: str) -> Coding:
    """The ct.gov coding of a token (system of the axis, the token, its display): what noMap rows keep."""
    return Coding(ctgov_system(axis), token, ctgov_display(axis, token))


# --------------------------------------------------------------------------------------------------- phases


def _phase_key(tokens: list[str]) -> str | None:
    order = enum_values("phase")
    found: list[str] = []
    for raw in tokens:
        for token in (normalize("phase", raw) or "").split(_COMBINED_SEP):
            if token and token not in found:
                found.append(token)
    if not found:
        return None
    return _COMBINED_SEP.join(sorted(found, key=lambda t: order.index(t) if t in order else len(order)))


def phase_code(tokens: list[str], release: FhirRelease | str = FhirRelease.R5) -> Coding | None:
    """The `research-study-phase <https://hl7.org/fhir/R5/codesystem-research-study-phase.html>`_ coding of a
    ct.gov phase list: ``["PHASE1", "PHASE2"]`` -> phase-1-phase-2. None for an empty list or an unmapped pair."""
    key = _phase_key(tokens)
    return None if key is None else to_fhir("phase", key, release)


def phase_tokens(code: str, release: FhirRelease | str = FhirRelease.R5) -> list[str]:
    """The reverse of :func:`phase_code`: ``"phase-1-phase-2"`` -> ``["PHASE1", "PHASE2"]``; [] if unknown."""
    token = from_fhir("phase", code, release)
    return token.split(_COMBINED_SEP) if token else []


def normalize_phase(value: str) -> list[str]:
    """Any phase spelling -> list of v2 tokens (``"Phase 2/Phase 3"`` -> ``["PHASE2", "PHASE3"]``); [] if unknown."""
    token = normalize("phase", value)
    return token.split(_COMBINED_SEP) if token else []


# --------------------------------------------------------------------------------------------------- masking


def legacy_masking(text: str) -> tuple[str | None, list[str]]:
    """Legacy masking wording -> (DesignMasking token, WhoMasked tokens in enum order).

    ``"Double (Participant, Investigator)"`` -> ``("DOUBLE", ["PARTICIPANT", "INVESTIGATOR"])``;
    ``"Double Blind (Subject, Caregiver)"`` -> ``("DOUBLE", ["PARTICIPANT", "CARE_PROVIDER"])``;
    ``"None (Open Label)"`` -> ``("NONE", [])``. Unknown parts give None / are left out.
    """
    stripped = text.strip()
    if not stripped:
        return None, []
    whole = normalize("masking", stripped)
    if whole is not None:
        return whole, []
    match = _PARENTHESISED.fullmatch(stripped)
    head, inner = (match.group("head"), match.group("inner")) if match else (stripped, "")
    masking = normalize("masking", head) if head.strip() else None
    order = enum_values("who-masked")
    who = {token for part in _LIST_SEPARATORS.split(inner) if part.strip() and (token := normalize("who-masked", part))}
    return masking, sorted(who, key=order.index)


# --------------------------------------------------------------------------------------------------- R5 <-> R4


@dataclass(frozen=True, slots=True)
class ComplexChild:
    """One child of an R5 backbone element carried in R4 as a complex cross-version extension."""

    name: str  # the child element, also the sub-extension's url
    value_type: str  # the value[x] suffix of the sub-extension ("CodeableConcept", "String" ...)
    repeats: bool  # 0..* in R5: one sub-extension per item, read back as a list


@cache
def _r4_r5() -> dict[str, Any]:
    raw: dict[str, Any] = _load("fhir-r4-r5.json")
    return raw


def r4_codes(value_set: str) -> frozenset[str]:
    """The codes of an R4 value set of a required binding (``"research-study-status"``, ``"related-artifact-type"``),
    from ``mappings/fhir-r4-r5.json`` (e.g. https://hl7.org/fhir/R4/valueset-research-study-status.html)."""
    return frozenset(_r4_r5()["valueSets"][value_set]["codes"])


def r4_fallback(value_set: str) -> str:
    """The code written where the R5 content has no code of the R4 value set (``active``, ``citation``)."""
    code: str = _r4_r5()["valueSets"][value_set]["fallback"]
    return code


def renamed_elements(resource_type: str) -> dict[str, str]:
    """R4 element name -> the R5 element holding the same content (``{"reasonStopped": "whyStopped", ...}``)."""
    return dict(_r4_r5()["renamed"].get(resource_type, {}))


def unchanged_elements(resource_type: str) -> tuple[str, ...]:
    """The elements R4 and R5 name and fill alike in the resources fhir-adapter writes."""
    return tuple(_r4_r5()["unchanged"].get(resource_type, ()))


def release_only_elements(release: FhirRelease | str) -> frozenset[str]:
    """The ResearchStudy elements only ``release`` defines (https://hl7.org/fhir/R5/researchstudy.html)."""
    return frozenset(_r4_r5()["onlyIn"][FhirRelease.parse(release).value])


def characteristic_offsets() -> dict[str, dict[str, str]]:
    """UCUM annotation unit (``{ULN}``, ``{LLN}``) -> its code and display in the characteristic-offset code system
    (https://hl7.org/fhir/R5/codesystem-characteristic-offset.html), from ``mappings/fhir-r4-r5.json``."""
    units: dict[str, dict[str, str]] = _r4_r5()["characteristicOffset"]["units"]
    return units


@cache
def complex_extension(path: str) -> tuple[tuple[ComplexChild, ...], bool]:
    """(children, whether the element's own extensions travel as sub-extensions) of the R5 backbone element ``path``
    written as a complex cross-version extension in R4 (https://hl7.org/fhir/versions.html#extensions)."""
    entry = _r4_r5()["complexExtensions"]["elements"][path]
    children = tuple(ComplexChild(name, vtype, bool(repeats)) for name, vtype, repeats in entry["children"])
    return children, bool(entry.get("keepExtensions"))


@cache
def registration_table() -> dict[str, Any]:
    """``mappings/research-study-registration.json``: the registration milestones (HL7's
    https://hl7.org/fhir/extensions/CodeSystem-research-study-registration-activity.html codes), ``overall-study``,
    the oversight classifiers and the data-sharing labels, each with its source."""
    raw: dict[str, Any] = _load("research-study-registration.json")
    return raw
