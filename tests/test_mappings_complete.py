"""Completeness and consistency of the code tables in ``mappings/`` (no network needed)."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir.resources.conceptmap import ConceptMap
from lxml import etree

from fhir_adapter import terminology

MAPPINGS = Path(__file__).resolve().parents[1] / "mappings"
FIXTURES = Path(__file__).resolve().parent / "data"  # the vendored copies of the shared fixtures
AXES = tuple(json.loads((MAPPINGS / "ctgov-enums.json").read_text())["axes"])
CONCEPTMAPS = sorted(MAPPINGS.glob("*.conceptmap.json"))
SYSTEMS: dict[str, str] = json.loads((MAPPINGS / "systems.json").read_text())
FHIR_CODES: dict[str, Any] = json.loads((MAPPINGS / "fhir-r5-codes.json").read_text())["systems"]
EXT = SYSTEMS["fhir-adapter-ext"]

# legacy clinical_study XML element paths per axis (attribute paths end in /@name)
XML_PATHS: dict[str, tuple[str, ...]] = {
    "overall-status": ("overall_status", "last_known_status"),
    "phase": ("phase",),
    "study-type": ("study_type",),
    "allocation": ("study_design_info/allocation",),
    "intervention-model": ("study_design_info/intervention_model",),
    "primary-purpose": ("study_design_info/primary_purpose",),
    "observational-model": ("study_design_info/observational_model",),
    "time-perspective": ("study_design_info/time_perspective",),
    "arm-type": ("arm_group/arm_group_type",),
    "intervention-type": ("intervention/intervention_type",),
    "sex": ("eligibility/gender",),
    "sponsor-class": ("sponsors/lead_sponsor/agency_class", "sponsors/collaborator/agency_class"),
    "official-role": ("overall_official/role",),
    "responsible-party-type": ("responsible_party/responsible_party_type",),
    "date-type": (
        "start_date/@type",
        "completion_date/@type",
        "primary_completion_date/@type",
        "enrollment/@type",
    ),
    "recruitment-status": ("location/status",),
    "std-age": ("eligibility/std_age",),
}


def _cm(axis: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((MAPPINGS / f"ctgov-{axis}.conceptmap.json").read_text())
    return data


def _ext(obj: dict[str, Any], name: str) -> list[dict[str, Any]]:
    return [e for e in obj.get("extension", []) if e["url"] == EXT + name]


def test_every_axis_has_a_conceptmap_and_systems() -> None:
    assert set(AXES) == set(terminology.axes())
    for axis in AXES:
        assert (MAPPINGS / f"ctgov-{axis}.conceptmap.json").is_file(), axis
        assert f"ctgov-{axis}" in SYSTEMS
        assert f"ctgov-legacy-{axis}" in SYSTEMS
    assert len(set(SYSTEMS.values())) == len(SYSTEMS), "a URI is listed twice in systems.json"


@pytest.mark.parametrize("axis", AXES)
def test_every_enum_value_has_an_element(axis: str) -> None:
    cm = _cm(axis)
    group1 = cm["group"][0]
    assert group1["source"] == SYSTEMS[f"ctgov-{axis}"]
    codes = [e["code"] for e in group1["element"]]
    assert len(codes) == len(set(codes)), "duplicate element"
    missing = [v for v in terminology.enum_values(axis) if v not in codes]
    assert not missing, f"{axis}: enum values without a ConceptMap element: {missing}"
    for element in group1["element"]:
        if element.get("noMap"):
            assert "target" not in element
            assert _ext(element, "conceptmap-nomap-comment"), f"{axis} {element['code']}: noMap without a reason"
        else:
            assert len(element["target"]) == 1
            target = element["target"][0]
            assert target["relationship"] in {
                "equivalent",
                "source-is-narrower-than-target",
                "source-is-broader-than-target",
                "related-to",
            }
            if target["relationship"] != "equivalent":
                assert target.get("comment"), f"{axis} {element['code']}: lossy row without comment"


@pytest.mark.parametrize("path", CONCEPTMAPS, ids=lambda p: p.name)
def test_conceptmap_validates(path: Path) -> None:
    data = json.loads(path.read_text())
    ConceptMap.model_validate(data)
    assert path.name == f"{data['id']}.conceptmap.json"
    assert data["url"] == SYSTEMS["fhir-adapter-conceptmap"] + data["id"]
    assert data["status"] == "active"


@pytest.mark.parametrize("path", CONCEPTMAPS, ids=lambda p: p.name)
def test_targets_exist_in_official_code_systems(path: Path) -> None:
    data = json.loads(path.read_text())
    group1 = data["group"][0]
    mapped = [e for e in group1["element"] if not e.get("noMap")]
    if not mapped:
        return
    codes = FHIR_CODES[group1["target"]]["codes"]
    for element in mapped:
        target = element["target"][0]
        assert target["code"] in codes, f"{path.name}: {target['code']} not in {group1['target']}"
        assert target["display"] == codes[target["code"]]


@pytest.mark.parametrize("path", CONCEPTMAPS, ids=lambda p: p.name)
def test_systems_are_declared(path: Path) -> None:
    data = json.loads(path.read_text())
    known = set(SYSTEMS.values())
    assert data["sourceScopeUri"] in known
    for group in data["group"]:
        assert group["source"] in known
        if "target" in group:
            assert group["target"] in known
        for element in group["element"]:
            for target in element.get("target", []):
                for ext in target.get("extension", []):
                    assert ext["url"].startswith(EXT)
            for ext in element.get("extension", []):
                assert ext["url"].startswith(EXT)


@pytest.mark.parametrize("path", CONCEPTMAPS, ids=lambda p: p.name)
def test_one_canonical_reverse_per_shared_target(path: Path) -> None:
    data = json.loads(path.read_text())
    by_code: dict[str, list[dict[str, Any]]] = {}
    for element in data["group"][0]["element"]:
        for target in element.get("target", []):
            by_code.setdefault(target["code"], []).append(target)
    for code, targets in by_code.items():
        flagged = [t for t in targets if _ext(t, "conceptmap-canonical-reverse")]
        assert len(flagged) == (1 if len(targets) > 1 else 0), f"{path.name}: {code}"


@pytest.mark.parametrize("axis", AXES)
def test_legacy_group_targets_v2_tokens(axis: str) -> None:
    cm = _cm(axis)
    assert len(cm["group"]) == 2
    legacy = cm["group"][1]
    assert legacy["source"] == SYSTEMS[f"ctgov-legacy-{axis}"]
    assert legacy["target"] == SYSTEMS[f"ctgov-{axis}"]
    group1_codes = {e["code"] for e in cm["group"][0]["element"]}
    for element in legacy["element"]:
        if element.get("noMap"):
            assert _ext(element, "conceptmap-nomap-comment")
            continue
        target = element["target"][0]
        assert target["code"] in group1_codes
        assert target["relationship"] == "equivalent"
        assert terminology.normalize(axis, element["code"]) == target["code"]


def _xml_records() -> Iterator[tuple[str, bytes]]:
    for path in sorted((FIXTURES / "ctgov-xml").glob("*.xml")):
        yield path.name, path.read_bytes()
    for archive in sorted((FIXTURES / "bulk").glob("*.zip")):
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.endswith(".xml"):
                    yield f"{archive.name}:{name}", zf.read(name)


def _xml_values(root: Any, path: str) -> Iterator[str]:
    if "/@" in path:
        element_path, attribute = path.split("/@")
        for element in root.findall(element_path):
            value = element.get(attribute)
            if value:
                yield value
    else:
        for element in root.findall(path):
            if element.text and element.text.strip():
                yield element.text.strip()


def _known_without_token(axis: str, value: str) -> bool:
    for element in _cm(axis)["group"][1]["element"]:
        if element.get("noMap") and element["code"].casefold() == value.strip().casefold():
            return True
    return False


def test_every_legacy_wording_in_the_fixtures_normalises() -> None:
    failures: set[tuple[str, str, str]] = set()
    seen = 0
    for name, data in _xml_records():
        root = etree.fromstring(data)
        for axis, paths in XML_PATHS.items():
            for path in paths:
                for value in _xml_values(root, path):
                    seen += 1
                    if terminology.normalize(axis, value) is None and not _known_without_token(axis, value):
                        failures.add((axis, value, name))
        for element in root.findall("study_design_info/masking"):
            seen += 1
            masking, _who = terminology.legacy_masking(element.text or "")
            if masking is None:
                failures.add(("masking", element.text or "", name))
    assert seen > 100
    assert not failures, sorted(failures)


def test_every_v1_wording_in_the_fixtures_normalises() -> None:
    keys = {
        "OverallStatus": "overall-status",
        "LastKnownStatus": "overall-status",
        "Phase": "phase",
        "StudyType": "study-type",
        "DesignAllocation": "allocation",
        "DesignInterventionModel": "intervention-model",
        "DesignPrimaryPurpose": "primary-purpose",
        "DesignObservationalModel": "observational-model",
        "DesignTimePerspective": "time-perspective",
        "DesignMasking": "masking",
        "DesignWhoMasked": "who-masked",
        "ArmGroupType": "arm-type",
        "InterventionType": "intervention-type",
        "Gender": "sex",
        "LeadSponsorClass": "sponsor-class",
        "CollaboratorClass": "sponsor-class",
        "OrgClass": "sponsor-class",
        "OverallOfficialRole": "official-role",
        "CentralContactRole": "contact-role",
        "LocationContactRole": "contact-role",
        "ResponsiblePartyType": "responsible-party-type",
        "StartDateType": "date-type",
        "PrimaryCompletionDateType": "date-type",
        "CompletionDateType": "date-type",
        "EnrollmentType": "date-type",
        "LocationStatus": "recruitment-status",
        "StdAge": "std-age",
        "ReferenceType": "reference-type",
        "SecondaryIdType": "secondary-id-type",
        "OutcomeMeasureType": "outcome-type",
    }
    failures: set[tuple[str, str]] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in keys:
                    for item in value if isinstance(value, list) else [value]:
                        if isinstance(item, str) and terminology.normalize(keys[key], item) is None:
                            failures.add((key, item))
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    files = sorted((FIXTURES / "ctgov-v1").glob("*.json"))
    assert files
    for path in files:
        walk(json.loads(path.read_text()))
    assert not failures, sorted(failures)


def test_v2_fixture_tokens_are_enum_values() -> None:
    files = sorted((FIXTURES / "ctgov-v2").glob("*.json"))
    assert files, f"no v2 fixtures in {FIXTURES / 'ctgov-v2'}"
    for path in files:
        study = json.loads(path.read_text())
        protocol = study.get("protocolSection", study)
        status = protocol["statusModule"]["overallStatus"]
        assert status in terminology.enum_values("overall-status")
        for phase in protocol["designModule"].get("phases", []):
            assert phase in terminology.enum_values("phase")


R4_R5: dict[str, Any] = json.loads((MAPPINGS / "fhir-r4-r5.json").read_text())


@pytest.mark.parametrize("value_set", sorted(R4_R5["valueSets"]))
def test_r4_value_sets_are_sourced_and_in_the_code_system(value_set: str) -> None:
    """Every R4 code is a code of the (R5) code system, which kept all R4 codes; the fallback is one of them."""
    entry = R4_R5["valueSets"][value_set]
    assert entry["source"] == f"https://hl7.org/fhir/R4/valueset-{value_set}.html"
    codes = entry["codes"]
    assert len(codes) == len(set(codes)) and entry["fallback"] in codes
    assert set(codes) <= set(FHIR_CODES[f"http://hl7.org/fhir/{value_set}"]["codes"])
    assert terminology.r4_codes(value_set) == frozenset(codes)


def test_r4_status_map_targets_are_r4_codes() -> None:
    """The R4 overall-status ConceptMap targets only codes of the R4 value set (the rest are noMap)."""
    cm = _cm("overall-status-r4")
    targets = {t["code"] for e in cm["group"][0]["element"] for t in e.get("target", [])}
    assert targets <= terminology.r4_codes("research-study-status")


def test_r4_r5_element_tables_agree() -> None:
    renamed = R4_R5["renamed"]["ResearchStudy"]
    only = R4_R5["onlyIn"]
    assert set(renamed) <= set(only["R4"]) and set(renamed.values()) <= set(only["R5"])
    unchanged = set(R4_R5["unchanged"]["ResearchStudy"])
    assert not unchanged & (set(only["R4"]) | set(only["R5"]))
    for path in R4_R5["complexExtensions"]["elements"]:
        children, _ = terminology.complex_extension(path)
        assert children and len({c.name for c in children}) == len(children), path
    tables = ("renamed", "unchanged", "onlyIn", "complexExtensions")
    assert all(R4_R5[table]["source"].startswith("https://hl7.org/fhir/") for table in tables)
