"""HAPI FHIR's validator (the authoritative check) on the goldens, the seeds, broken resources and R4.

The jar comes from the session fixture ``hapi_jar`` (conftest.py): built beforehand by ``.ci/run`` or the command in
validators/README.md, never by the tests. This is a real test: without Java 17+ or the jar it FAILS, it does not skip.
Each JVM start loads the core definitions (seconds), so each module-scoped fixture validates everything of one FHIR
version in a single ``hapi_validate`` call and the tests look at its results.
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Any

import pytest

from conftest import DATA, GOLDEN, all_inputs
from fhir_adapter import to_bundle
from fhir_adapter.bundle import FHIR_VERSIONS
from fhir_adapter.issues import Issue
from fhir_adapter.sources import read_records
from fhir_adapter.validate import hapi

pytestmark = pytest.mark.hapi  # runs HAPI's Java validator: `pytest --all` or `-m hapi`

GOLDEN_BUNDLES = sorted(GOLDEN.glob("*.bundle.json"))

UUID_RS = "urn:uuid:0d6f9b1e-1111-4111-8111-111111111111"
UUID_PATIENT = "urn:uuid:0d6f9b1e-2222-4222-8222-222222222222"

# R5 ResearchStudy with three faults: status missing, identifier.use "primary" (required binding identifier-use),
# and a site reference that is no reference at all.
BROKEN_RS: dict[str, Any] = {
    "resourceType": "ResearchStudy",
    "id": "broken",
    "identifier": [{"use": "primary", "system": "https://clinicaltrials.gov", "value": "NCT00000000"}],
    "title": "Broken study",
    "site": [{"reference": "not a reference at all"}],
}
# The same kind of faults inside a Bundle, with a reference that resolves to a resource of the wrong type.
BROKEN_BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle",
    "type": "collection",
    "entry": [
        {
            "fullUrl": UUID_RS,
            "resource": {
                "resourceType": "ResearchStudy",
                "status": "bogus",
                "site": [{"reference": UUID_PATIENT}],
            },
        },
        {"fullUrl": UUID_PATIENT, "resource": {"resourceType": "Patient", "active": True}},
    ],
}
# Codes in systems the validator cannot check offline must give warnings, never errors.
UNKNOWN_SYSTEM_RS: dict[str, Any] = {
    "resourceType": "ResearchStudy",
    "status": "active",
    "classifier": [{"coding": [{"system": "https://fhir-adapter.dev/CodeSystem/not-known", "code": "zzz"}]}],
    "condition": [{"coding": [{"system": "http://www.nlm.nih.gov/research/umls/mesh", "code": "D000003550"}]}],
}
R4_OK: dict[str, Any] = {"resourceType": "ResearchStudy", "id": "ok", "status": "active", "title": "Minimal R4 study"}
R4_WITH_R5_ELEMENT: dict[str, Any] = R4_OK | {"id": "r5only", "progressStatus": [{"state": {"text": "active"}}]}


def _errors(issues: list[Issue]) -> list[Issue]:
    return [i for i in issues if i.is_error]


def _seed_bundles(fhir_version: str, every_fixture: bool = False) -> dict[str, dict[str, Any]]:
    """Bundles made on the fly from every seed page and v2 fixture (and, with ``every_fixture``, from every
    legacy XML and API v1 fixture too: R4 has its own test over all of them in test_r4.py)."""
    bundles: dict[str, dict[str, Any]] = {}
    paths = [*all_inputs(), *([DATA / "ctgov-xml", DATA / "ctgov-v1"] if every_fixture else [])]
    for record in read_records(paths):
        assert record.trial is not None, record.error
        name = f"{fhir_version}:{Path(record.source.path).name}:{record.trial.nct_id}"
        bundles[name] = to_bundle(record.trial, fhir_version=fhir_version)
    return bundles


def _validate_named(inputs: dict[str, dict[str, Any] | Path], fhir_version: str) -> dict[str, list[Issue]]:
    results = hapi.hapi_validate(list(inputs.values()), fhir_version)
    return dict(zip(inputs, results, strict=True))


@pytest.fixture(scope="module")
def r5(hapi_jar: Path) -> dict[str, list[Issue]]:
    inputs: dict[str, dict[str, Any] | Path] = {f"golden:{p.name}": p for p in GOLDEN_BUNDLES}
    inputs |= {"broken_rs": BROKEN_RS, "broken_bundle": BROKEN_BUNDLE, "unknown_system": UNKNOWN_SYSTEM_RS}
    inputs |= _seed_bundles("R5", every_fixture=True)
    return _validate_named(inputs, "R5")


@pytest.fixture(scope="module")
def r4(hapi_jar: Path) -> dict[str, list[Issue]]:
    inputs: dict[str, dict[str, Any] | Path] = {"ok": R4_OK, "r5only": R4_WITH_R5_ELEMENT}
    if "R4" in FHIR_VERSIONS:
        inputs |= _seed_bundles("R4")
    return _validate_named(inputs, "R4")


def test_jar_is_found_through_its_setting(hapi_jar: Path) -> None:
    assert hapi.hapi_available()
    assert hapi.require_hapi() == hapi.hapi_jar() == hapi_jar


def test_golden_bundles_have_no_errors(r5: dict[str, list[Issue]]) -> None:
    assert GOLDEN_BUNDLES, "no golden bundles found"
    kinds: collections.Counter[tuple[str, str, str]] = collections.Counter()
    for path in GOLDEN_BUNDLES:
        issues = r5[f"golden:{path.name}"]
        for issue in issues:
            if issue.severity == "warning":
                print(f"{path.name}: {issue}")
                kinds[(issue.severity, issue.code, issue.message.split(":")[0][:60])] += 1
        assert _errors(issues) == [], f"{path.name}: HAPI errors:\n" + "\n".join(map(str, _errors(issues)))
    print("warning kinds:", *(f"{n:4d} {k}" for k, n in kinds.most_common()), sep="\n")


def test_seed_bundles_have_no_errors(r5: dict[str, list[Issue]], r4: dict[str, list[Issue]]) -> None:
    produced = {k: v for k, v in (r5 | r4).items() if k.startswith(("R5:", "R4:"))}
    assert len([k for k in produced if k.startswith("R5:")]) >= len(all_inputs()) + 55 + 102
    failures = {k: _errors(v) for k, v in produced.items() if _errors(v)}
    assert failures == {}, "\n".join(f"{k}: {i}" for k, v in failures.items() for i in v)


def _has(issues: list[Issue], location: str, fragment: str, severity: str = "error") -> bool:
    return any(i.severity == severity and i.location == location and fragment in i.message for i in issues)


def test_broken_research_study(r5: dict[str, list[Issue]]) -> None:
    issues = r5["broken_rs"]
    assert _has(issues, "ResearchStudy", "ResearchStudy.status: minimum required = 1, but only found 0")
    assert _has(
        issues, "ResearchStudy.identifier[0].use", "The value provided ('primary') was not found in the value set"
    )
    assert _has(issues, "ResearchStudy.site[0]", "The reference 'not a reference at all' is not a valid reference")
    assert {i.code for i in _errors(issues)} >= {"structure", "code-invalid", "invalid"}


def test_broken_research_study_in_bundle(r5: dict[str, list[Issue]]) -> None:
    issues = r5["broken_bundle"]
    rs = "Bundle.entry[0].resource/*ResearchStudy/null*/"
    assert _has(issues, f"{rs}.status", "The value provided ('bogus') was not found in the value set")
    assert _has(issues, f"{rs}.site[0]", "Invalid Resource target type. Found Patient")


def test_unknown_code_systems_are_warnings_only(r5: dict[str, list[Issue]]) -> None:
    issues = r5["unknown_system"]
    assert _errors(issues) == []
    unknown = [i for i in issues if "CodeSystem is unknown" in i.message]
    assert {i.severity for i in unknown} == {"warning"}
    assert {i.location for i in unknown} == {"ResearchStudy.classifier[0]", "ResearchStudy.condition[0]"}


def test_r4_smoke(r4: dict[str, list[Issue]]) -> None:
    assert _errors(r4["ok"]) == []
    assert _has(r4["r5only"], "ResearchStudy", "Unrecognized property 'progressStatus'")


def test_mixed_inputs_keep_their_order(hapi_jar: Path) -> None:
    assert hapi.hapi_validate([], "R4") == []
    results = hapi.hapi_validate([R4_WITH_R5_ELEMENT, R4_OK, R4_WITH_R5_ELEMENT], "r4")
    assert [bool(_errors(r)) for r in results] == [True, False, True]
