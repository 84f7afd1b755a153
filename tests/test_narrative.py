"""Generated narratives (fhir/narrative.py): every resource, both releases, valid XHTML of the allowed elements only,
every value escaped, the facts a clinician scans first; readers ignore them."""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from conftest import all_inputs
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.fhir.narrative import XHTML_NAMESPACE, carry_to_r4, narrative, narratives
from fhir_adapter.model import Trial
from fhir_adapter.release import FhirRelease

NS = "{" + XHTML_NAMESPACE + "}"
# The elements this module writes: a subset of what https://hl7.org/fhir/R5/narrative.html allows (txt-1).
ALLOWED = {"div", "p", "b", "ul", "ol", "li"}


def _parsed(div: str) -> ET.Element:
    """The div as XML (fails on anything not well-formed), checked against the narrative rules."""
    assert div.startswith(f'<div xmlns="{XHTML_NAMESPACE}">')
    root = ET.fromstring(div)
    assert root.tag == NS + "div"
    for el in root.iter():
        assert el.tag.startswith(NS) and el.tag[len(NS) :] in ALLOWED, el.tag
        assert el.attrib == {}, el.attrib  # no attributes (the namespace is not one)
    assert "".join(root.itertext()).strip(), "txt-2: the narrative must have non-whitespace content"
    return root


@pytest.mark.parametrize("release", list(FhirRelease))
@pytest.mark.parametrize("path", all_inputs(), ids=lambda p: p.name)
def test_every_resource_has_a_valid_generated_narrative(
    path: Path, release: FhirRelease, reference_trials: dict[Path, Trial]
) -> None:
    bundle = to_bundle(reference_trials[path], release)
    assert "text" not in bundle
    for entry in bundle["entry"]:
        resource = entry["resource"]
        text = resource["text"]
        assert text["status"] == "generated"
        _parsed(text["div"])
        assert list(resource)[:3] == ["resourceType", "id", "text"]  # FHIR's element order
        for contained in resource.get("contained", []):
            assert "text" not in contained


def _study_text(trial: Trial, release: FhirRelease = FhirRelease.R5) -> str:
    root = _parsed(to_bundle(trial, release)["entry"][0]["resource"]["text"]["div"])
    return " ".join(root.itertext())


def test_the_study_narrative_shows_what_a_clinician_scans_first(reference_trials: dict[Path, Trial]) -> None:
    trial = next(t for t in reference_trials.values() if t.lead_sponsor and t.phases and t.sites)
    assert trial.nct_id and trial.lead_sponsor
    text = _study_text(trial)
    for fact in (trial.nct_id, trial.lead_sponsor.name, "Phase", "Status", "Sites: " + str(len(trial.sites))):
        assert fact and fact in text, fact
    assert trial.conditions[0] in text
    assert _study_text(trial, FhirRelease.R4) == text  # R4 carries the R5 narrative (same facts)


def test_eligibility_lists_criteria_under_their_headings(reference_trials: dict[Path, Trial]) -> None:
    trial = reference_trials[all_inputs()[0]]
    bundle = to_bundle(trial)
    ref = bundle["entry"][0]["resource"]["recruitment"]["eligibility"]["reference"]
    ev = next(e["resource"] for e in bundle["entry"] if e["fullUrl"] == ref)
    root = _parsed(ev["text"]["div"])
    headings = [b.text for b in root.iter(NS + "b")]
    assert "Inclusion criteria" in headings and "Exclusion criteria" in headings
    items = [li.text for li in root.iter(NS + "li")]
    assert trial.eligibility.criteria[0].text in items
    r4 = to_bundle(trial, "R4")
    group = next(e["resource"] for e in r4["entry"] if e["resource"]["resourceType"] == "Group")
    assert group["text"] == ev["text"]


def test_values_are_escaped_and_xml_forbidden_characters_dropped(reference_trials: dict[Path, Trial]) -> None:
    trial = copy.deepcopy(reference_trials[all_inputs()[0]])
    trial.brief_title = trial.official_title = '<script>alert("x")</script> & <b onclick="y">\x01\x0b'
    div = to_bundle(trial)["entry"][0]["resource"]["text"]["div"]
    root = _parsed(div)
    assert "&lt;script&gt;" in div and "&amp;" in div and "\x01" not in div
    assert not [el for el in root.iter() if el.tag.endswith("script")]
    assert '<script>alert("x")</script> & <b onclick="y">' in "".join(root.itertext())


def test_unknown_types_get_a_generic_narrative_and_binary_none() -> None:
    resources: dict[str, dict[str, Any]] = {
        "urn:uuid:1": {"resourceType": "EvidenceReport", "id": "1", "status": "active", "title": "Outcome <1>"},
        "urn:uuid:2": {"resourceType": "Binary", "id": "2", "contentType": "application/json"},
        "urn:uuid:3": {"resourceType": "Basic", "id": "3", "text": {"status": "additional", "div": "<div/>"}},
    }
    out = narratives(resources)
    text = " ".join(_parsed(out["urn:uuid:1"]["text"]["div"]).itertext())
    assert "Outcome <1>" in text and "EvidenceReport" in text
    assert "text" not in out["urn:uuid:2"]  # Binary is not a DomainResource
    assert out["urn:uuid:3"]["text"]["status"] == "additional"  # a narrative already there is kept


def test_a_context_text_slot_is_filled_in_place_as_a_copy_would_be(reference_trials: dict[Path, Trial]) -> None:
    """The bundle's Context gives each resource a ``text`` placeholder that narratives fill in place: the same
    resources, key order included, as narratives of a Context without slots (which copies each to add ``text``)."""
    from fhir_adapter.fhir.common import TEXT_SLOT, Context
    from fhir_adapter.fhir.r5.research_study import to_research_study

    for trial in reference_trials.values():
        if not trial.nct_id:
            continue
        slotted, plain = Context(trial.nct_id, text_slot=True), Context(trial.nct_id)
        to_research_study(slotted, trial)
        to_research_study(plain, trial)
        assert all(r["text"] is TEXT_SLOT for r in slotted.resources.values())
        expected = narratives(plain.resources)
        got = narratives(slotted.resources)
        assert [list(r.items()) for r in got.values()] == [list(r.items()) for r in expected.values()]
    binary: dict[str, Any] = {"resourceType": "Binary", "id": "2", "text": TEXT_SLOT, "contentType": "text/plain"}
    assert narratives({"urn:uuid:2": binary})["urn:uuid:2"] == {
        "resourceType": "Binary",
        "id": "2",
        "contentType": "text/plain",
    }


def test_an_unknown_status_is_always_said() -> None:
    rs = {
        "resourceType": "ResearchStudy",
        "title": "T",
        "progressStatus": [
            {
                "state": {
                    "coding": [
                        {"system": "http://hl7.org/fhir/research-study-status", "code": "recruiting"},
                        {"system": "https://clinicaltrials.gov/data-api/api#enum-Status", "code": "UNKNOWN"},
                    ],
                    "text": "Recruiting (last known)",
                }
            }
        ],
    }
    text = " ".join(_parsed(narrative(rs, lambda ref: None)["div"]).itertext())
    assert "Unknown" in text and "Recruiting (last known)" in text


def test_carry_to_r4_keeps_an_r4_resource_of_its_own() -> None:
    r4 = {"urn:uuid:9": {"resourceType": "Location", "id": "9", "name": "Site", "address": {"city": "Lyon"}}}
    out = carry_to_r4({}, r4)
    assert "Lyon" in out["urn:uuid:9"]["text"]["div"]


def _without_text(bundle: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(bundle)
    for entry in out["entry"]:
        entry["resource"].pop("text", None)
    return out


@pytest.mark.parametrize("release", list(FhirRelease))
def test_readers_ignore_the_narrative(release: FhirRelease, reference_trials: dict[Path, Trial]) -> None:
    for trial in reference_trials.values():
        bundle = to_bundle(trial, release)
        assert from_bundle(bundle) == from_bundle(_without_text(bundle)) == trial
