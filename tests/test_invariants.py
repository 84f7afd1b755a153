"""Rules every produced bundle obeys: valid R5, references resolve, unique ids, no empty elements, every coding
system listed in mappings/systems.json, deterministic output."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from conftest import all_inputs
from fhir_adapter import terminology
from fhir_adapter.bundle import to_bundle
from fhir_adapter.model import Trial
from fhir_adapter.validate import validate
from helpers import walk

BUNDLES = {p.name: p for p in all_inputs()}


@pytest.fixture(params=sorted(BUNDLES), scope="module")
def bundle(request: pytest.FixtureRequest, reference_bundles: dict[Path, dict[str, Any]]) -> dict[str, Any]:
    return reference_bundles[BUNDLES[request.param]]


def test_validates_without_errors(bundle: dict[str, Any]) -> None:
    errors = [str(i) for i in validate(bundle) if i.is_error]
    assert errors == []


def test_references_resolve(bundle: dict[str, Any]) -> None:
    urls = {e["fullUrl"] for e in bundle["entry"]}
    refs = [v["reference"] for _, v in walk(bundle) if isinstance(v, dict) and isinstance(v.get("reference"), str)]
    assert refs and all(r in urls for r in refs)


def test_ids_and_full_urls_unique(bundle: dict[str, Any]) -> None:
    ids = [(e["resource"]["resourceType"], e["resource"]["id"]) for e in bundle["entry"]]
    assert len(ids) == len(set(ids))
    assert len({e["fullUrl"] for e in bundle["entry"]}) == len(bundle["entry"])


def test_no_empty_elements(bundle: dict[str, Any]) -> None:
    empty = [p for p, v in walk(bundle) if v in ("", [], {}, None) or (isinstance(v, str) and not v.strip())]
    assert empty == []


def test_every_coding_system_is_listed(bundle: dict[str, Any]) -> None:
    systems = {v["system"] for _, v in walk(bundle) if isinstance(v, dict) and "system" in v and "code" in v}
    assert systems - terminology.all_systems() == set()


# HL7's own extensions (issue 11: official ones before ours), each named in mappings/README.md with its source.
HL7_EXTENSION_BASE = "http://hl7.org/fhir/StructureDefinition/"


def test_every_extension_is_ours_or_hl7s_and_documented(bundle: dict[str, Any]) -> None:
    """Every extension URL of an R5 bundle is fhir-adapter's (documented in mappings/README.md by name) or one of
    HL7's (named there too, with its source); the children of a complex extension have relative URLs."""
    readme = (Path(__file__).resolve().parents[1] / "mappings" / "README.md").read_text()
    urls = {v["url"] for p, v in walk(bundle) if re.search(r"extension\[\d+\]$", p)}
    base = terminology.system("fhir-adapter-ext")
    children = {u for u in urls if "://" not in u}
    ours = {u for u in urls if u.startswith(base)}
    hl7 = {u for u in urls if u.startswith(HL7_EXTENSION_BASE)}
    assert urls - children - ours - hl7 == set()
    assert [u for u in ours if f"`{u[len(base) :]}`" not in readme] == []
    assert [u for u in hl7 if f"`{u[len(HL7_EXTENSION_BASE) :]}`" not in readme and u not in readme] == []


@pytest.mark.parametrize("path", all_inputs(), ids=lambda p: p.name)
def test_output_is_deterministic(path: Path, reference_trials: dict[Path, Trial]) -> None:
    trial = reference_trials[path]
    assert to_bundle(trial) == to_bundle(trial)
    assert to_bundle(trial, bundle_type="transaction")["entry"][0]["request"]["url"].startswith(
        "ResearchStudy?identifier="
    )
