"""HAPI's validator with fhir-adapter's published definitions (issue 11 item 1): the goldens' ct.gov codes and our
extensions are checked, not unknown; a code outside a ct.gov enum is an error (the CodeSystems are complete: a wrong
code is a mapping fault, not a gap in our knowledge), and so is a wrong value type in one of our extensions.

One JVM per FHIR release (module-scoped fixtures); the jar comes from the session fixture ``hapi_jar`` (conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import GOLDEN
from fhir_adapter.definitions import definition_urls
from fhir_adapter.issues import Issue
from fhir_adapter.terminology import system
from fhir_adapter.validate import hapi

pytestmark = pytest.mark.hapi

EXT = "https://fhir-adapter.dev/StructureDefinition/"
# A ct.gov Status token with a typo in our last-known-status extension, a boolean extension with a string, and an
# AgencyClass code that is no AgencyClass.
BAD = {
    "resourceType": "ResearchStudy",
    "id": "bad",
    "status": "active",
    "extension": [
        {"url": EXT + "has-results", "valueString": "yes"},
        {
            "url": EXT + "last-known-status",
            "valueCodeableConcept": {"coding": [{"system": system("ctgov-overall-status"), "code": "RECRUTING"}]},
        },
    ],
}
WELL = {
    "resourceType": "ResearchStudy",
    "id": "well",
    "status": "active",
    "extension": [
        {"url": EXT + "has-results", "valueBoolean": True},
        {
            "url": EXT + "last-known-status",
            "valueCodeableConcept": {"coding": [{"system": system("ctgov-overall-status"), "code": "RECRUITING"}]},
        },
    ],
}


def _with_code(resource: dict[str, Any], element: str, code: str) -> dict[str, Any]:
    return resource | {element: [{"coding": [{"system": system("ctgov-sponsor-class"), "code": code}]}]}


def _run(release: str, goldens: list[Path], element: str) -> dict[str, list[Issue]]:
    inputs: dict[str, Any] = {f"golden:{p.name}": p for p in goldens}
    inputs |= {"bad": _with_code(BAD, element, "BOGUS"), "well": _with_code(WELL, element, "INDUSTRY")}
    return dict(zip(inputs, hapi.hapi_validate(list(inputs.values()), release), strict=True))


@pytest.fixture(scope="module")
def r5(hapi_jar: Path) -> dict[str, list[Issue]]:
    goldens = sorted([*GOLDEN.glob("*.bundle.json"), *(GOLDEN / "legacy").glob("*.bundle.json")])
    return _run("R5", goldens, "classifier")


@pytest.fixture(scope="module")
def r4(hapi_jar: Path) -> dict[str, list[Issue]]:
    return _run("R4", sorted((GOLDEN / "r4").glob("*.bundle.json")), "keyword")


# HL7's own extensible bindings (identifier type, R4 primary purpose) warn when a concept carries only our ct.gov
# coding: a judgement about HL7's value set, which our definitions cannot change.
_HL7_BINDING = "None of the codings provided are in the value set"


def _about_ours(issue: Issue, release: str) -> bool:
    """An issue saying one of our published systems or extensions is unknown or misused."""
    if issue.severity not in ("error", "warning") or issue.message.startswith(_HL7_BINDING):
        return False
    return any(url in issue.message for url in definition_urls(release))


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_goldens_have_no_issue_about_our_systems_or_extensions(
    release: str, r5: dict[str, list[Issue]], r4: dict[str, list[Issue]]
) -> None:
    results = {k: v for k, v in (r5 if release == "R5" else r4).items() if k.startswith("golden:")}
    assert len(results) >= 6
    ours = [f"{name}: {i}" for name, issues in results.items() for i in issues if _about_ours(i, release)]
    assert ours == [], "\n".join(ours[:20])


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_a_wrong_ctgov_code_is_an_error(release: str, r5: dict[str, list[Issue]], r4: dict[str, list[Issue]]) -> None:
    issues = (r5 if release == "R5" else r4)["bad"]
    errors = [i for i in issues if i.severity == "error"]
    assert any(f"Unknown code '{system('ctgov-sponsor-class')}#BOGUS'" in i.message for i in errors), errors
    assert any(f"Unknown code '{system('ctgov-overall-status')}#RECRUTING'" in i.message for i in errors), errors
    well = (r5 if release == "R5" else r4)["well"]
    assert [i for i in well if _about_ours(i, release) or i.severity == "error"] == []


@pytest.mark.parametrize("release", ["R5", "R4"])
def test_a_wrong_value_type_in_our_extension_is_an_error(
    release: str, r5: dict[str, list[Issue]], r4: dict[str, list[Issue]]
) -> None:
    issues = (r5 if release == "R5" else r4)["bad"]
    wrong = [
        i
        for i in issues
        if i.severity == "error" and "allows for the types [boolean] but found type string" in i.message
    ]
    assert [i.location for i in wrong] == ["ResearchStudy.extension[0]"]
