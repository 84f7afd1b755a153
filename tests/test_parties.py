"""People and places (issue 11): ISO 3166 countries, the HL7 contactpoint-extension, one Practitioner per person.

Each item both ways, in R5 and R4 (``to_bundle`` -> ``from_bundle``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conftest import all_inputs
from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.fhir.r5 import parties
from fhir_adapter.fhir.r5.parties import ORIGINAL_TEXT, country_of_region, identity_words, iso_country, to_region
from fhir_adapter.model import Contact, Official, ResponsibleParty, Site, Trial
from fhir_adapter.terminology import mappings_dir
from helpers import trial_of, walk

ISO = "urn:iso:std:iso:3166"
RELEASES = ["R5", "R4"]


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


# --------------------------------------------------------------------------------------------------- countries


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("United States", "US"),
        ("Korea, Republic of", "KR"),
        ("Iran, Islamic Republic of", "IR"),
        ("Russian Federation", "RU"),
        ("Turkey", "TR"),
        ("Türkiye", "TR"),
        ("Czechia", "CZ"),
        ("Czech Republic", "CZ"),
        ("Taiwan", "TW"),
        ("Hong Kong", "HK"),
        ("Macedonia, The Former Yugoslav Republic of", "MK"),
        ("Tanzania", "TZ"),
        ("united  states", "US"),  # case and spacing do not matter
    ],
)
def test_ctgov_names_get_their_iso_code(name: str, code: str) -> None:
    assert iso_country(name) == code
    region = to_region(name)
    assert region["coding"][0]["system"] == ISO and region["coding"][0]["code"] == code
    assert region["text"] == name
    assert country_of_region(region) == name


@pytest.mark.parametrize("name", ["Former Serbia and Montenegro", "Atlantis", ""])
def test_names_without_a_current_code_stay_text(name: str) -> None:
    assert iso_country(name) is None
    assert to_region(name) == {"text": name}


def test_country_of_region_reads_old_and_foreign_forms() -> None:
    assert country_of_region({"text": "Spain"}) == "Spain"  # what fhir-adapter wrote before
    assert country_of_region({"coding": [{"system": ISO, "code": "ES"}]}) == "Spain"  # another tool, code only
    assert country_of_region({"coding": [{"system": "urn:other", "code": "ES"}]}) is None
    assert country_of_region(None) is None


def test_every_country_of_the_fixtures_is_coded_or_deliberately_not() -> None:
    """The names seen in the v2, legacy XML and v1 fixtures: each has a code, or a table row saying why not."""
    table = json.loads((mappings_dir() / "iso3166-countries.json").read_text(encoding="utf-8"))
    uncoded = {r["name"] for r in table["ctgov"] if r["code"] is None}
    seen = {
        "United States", "Spain", "Germany", "Russian Federation", "Taiwan", "Czechia", "Korea, Republic of",
        "Turkey", "Czech Republic", "Puerto Rico", "Former Serbia and Montenegro", "Tanzania", "Gambia",
    }  # fmt: skip
    assert {n for n in seen if iso_country(n) is None} == uncoded & seen
    assert all(r["comment"] for r in table["ctgov"])
    assert table["system"] == ISO and "iso-codes" in table["source"]


@pytest.mark.parametrize("release", RELEASES)
def test_site_address_country_is_the_iso_code_and_the_name_travels(release: str) -> None:
    sites = [
        Site(facility="A", city="Seoul", country="Korea, Republic of"),
        Site(facility="B", city="Belgrade", country="Former Serbia and Montenegro"),
        Site(facility="C", city="Nowhere"),
    ]
    trial = Trial(nct_id="NCT00000001", overall_status="COMPLETED", sites=sites)
    bundle = to_bundle(trial, release)
    addresses = {loc["name"]: loc.get("address", {}) for loc in resources(bundle, "Location")}
    assert addresses["A"]["country"] == "KR"
    assert addresses["A"]["_country"] == {"extension": [{"url": ORIGINAL_TEXT, "valueString": "Korea, Republic of"}]}
    assert addresses["B"]["country"] == "Former Serbia and Montenegro" and "_country" not in addresses["B"]
    assert "country" not in addresses["C"]
    assert from_bundle(bundle) == trial
    assert from_bundle(json.loads(json.dumps(bundle))) == trial


def test_old_bundles_with_the_name_in_country_still_read() -> None:
    assert parties.country_of_address({"country": "Spain"}) == "Spain"
    site = parties.from_location({"resourceType": "Location", "address": {"country": "Korea, Republic of"}})
    assert site.country == "Korea, Republic of"


# --------------------------------------------------------------------------------------------------- phone extension

CONTACTPOINT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/contactpoint-extension"
OLD_PHONE_EXTENSION = "https://fhir-adapter.dev/StructureDefinition/phone-extension"


def phones(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for _, v in walk(bundle) if isinstance(v, dict) and v.get("system") == "phone"]


@pytest.mark.parametrize("release", RELEASES)
def test_phone_extension_is_hl7s_contactpoint_extension(release: str) -> None:
    central = Contact(name="Ann Lee", role="CONTACT", phone="555-0100", phone_ext="42", email="ann@example.org")
    site_contact = Contact(name="Bo Chen", role="CONTACT", phone="555-0200", phone_ext="7")
    trial = Trial(
        nct_id="NCT00000002",
        overall_status="RECRUITING",
        central_contacts=[central],
        sites=[Site(facility="S", country="Spain", contacts=[site_contact])],
    )
    bundle = to_bundle(trial, release)
    found = {p["value"]: p["extension"] for p in phones(bundle)}
    assert found["555-0100"] == [{"url": CONTACTPOINT_EXTENSION, "valueString": "42"}]
    assert found["555-0200"] == [{"url": CONTACTPOINT_EXTENSION, "valueString": "7"}]
    assert OLD_PHONE_EXTENSION not in json.dumps(bundle)
    assert from_bundle(bundle) == trial


@pytest.mark.parametrize("release", RELEASES)
def test_the_old_phone_extension_still_reads(release: str) -> None:
    trial = Trial(
        nct_id="NCT00000003",
        overall_status="RECRUITING",
        central_contacts=[Contact(name="Ann Lee", phone="555-0100", phone_ext="42")],
        sites=[Site(facility="S", contacts=[Contact(name="Bo Chen", phone="555-0200", phone_ext="7")])],
    )
    bundle = json.loads(json.dumps(to_bundle(trial, release)).replace(CONTACTPOINT_EXTENSION, OLD_PHONE_EXTENSION))
    assert CONTACTPOINT_EXTENSION not in json.dumps(bundle)
    assert from_bundle(bundle) == trial


def test_contact_points_on_the_practitioner_still_read() -> None:
    """Before issue 11 a central contact's phone and e-mail were on its Practitioner."""
    practitioner = {
        "resourceType": "Practitioner",
        "name": [{"text": "Ann"}],
        "telecom": [{"system": "phone", "value": "1"}],
    }
    assert parties.from_person(practitioner, lambda _: None).telecom == [{"system": "phone", "value": "1"}]
    role = {"resourceType": "PractitionerRole", "practitioner": {"reference": "urn:x"}}
    person = parties.from_person(role, lambda r: practitioner if r else None)
    assert (person.name, person.telecom) == ("Ann", [{"system": "phone", "value": "1"}])


# --------------------------------------------------------------------------------------------------- one person


def people_trial() -> Trial:
    """Dr Ortel is the responsible investigator, an official and the central contact; a second Dr Ortel works
    elsewhere; Dr Kim is an official twice (two roles)."""
    return Trial(
        nct_id="NCT00000004",
        overall_status="RECRUITING",
        responsible_party=ResponsibleParty(
            type="PRINCIPAL_INVESTIGATOR", name="Thomas Ortel, MD", title="Professor", affiliation="Duke University"
        ),
        officials=[
            Official(name="Thomas Ortel, MD", role="PRINCIPAL_INVESTIGATOR", affiliation="Duke University"),
            Official(name="Jin Kim", role="STUDY_CHAIR"),
            Official(name="Jin Kim", role="STUDY_DIRECTOR"),
        ],
        central_contacts=[
            Contact(name="THOMAS ORTEL MD", role="CONTACT", phone="919-684-5350", email="t@duke.example"),
            Contact(name="Jin Kim", role="CONTACT_BACKUP"),
        ],
    )


@pytest.mark.parametrize("release", RELEASES)
def test_one_person_is_one_practitioner_referenced_from_every_role(release: str) -> None:
    trial = people_trial()
    bundle = to_bundle(trial, release)
    by_url = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    practitioners = {u: r["name"][0]["text"] for u, r in by_url.items() if r["resourceType"] == "Practitioner"}
    assert sorted(practitioners.values()) == ["Jin Kim", "Thomas Ortel, MD"]
    roles = resources(bundle, "PractitionerRole")
    # responsible investigator (title), official (affiliation), central contact (phone): three roles of Dr Ortel
    ortel = next(u for u, n in practitioners.items() if n.startswith("Thomas"))
    assert sum(r["practitioner"]["reference"] == ortel for r in roles) == 3
    if release == "R5":  # every person party names the Practitioner of its own name
        for p in resources(bundle, "ResearchStudy")[0]["associatedParty"]:
            target = by_url.get((p.get("party") or {}).get("reference", ""), {})
            url = target["practitioner"]["reference"] if target.get("resourceType") == "PractitionerRole" else None
            url = url or (p["party"]["reference"] if target.get("resourceType") == "Practitioner" else None)
            if url:
                assert identity_words(practitioners[url]) in identity_words(p["name"]), p["name"]
    assert from_bundle(bundle) == trial
    assert from_bundle(json.loads(json.dumps(bundle))) == trial


def test_practitioner_ids_are_deterministic_and_from_the_identity() -> None:
    first = to_bundle(people_trial())
    again = to_bundle(people_trial())
    ids = [p["id"] for p in resources(first, "Practitioner")]
    assert ids == [p["id"] for p in resources(again, "Practitioner")]
    # a later official of another name does not move the ids of the others
    more = people_trial()
    more.officials.append(Official(name="Ada Byron", affiliation="Analytical Engines"))
    assert set(ids) <= {p["id"] for p in resources(to_bundle(more), "Practitioner")}


@pytest.mark.parametrize("release", RELEASES)
def test_same_name_at_different_affiliations_stays_two_people(release: str) -> None:
    trial = Trial(
        nct_id="NCT00000005",
        overall_status="RECRUITING",
        officials=[
            Official(name="Wei Zhang", role="PRINCIPAL_INVESTIGATOR", affiliation="Peking University"),
            Official(name="Wei Zhang", role="PRINCIPAL_INVESTIGATOR", affiliation="Fudan University"),
        ],
        central_contacts=[Contact(name="Wei Zhang", role="CONTACT", phone="1")],  # which one? not merged
    )
    bundle = to_bundle(trial, release)
    assert len(resources(bundle, "Practitioner")) == 3
    assert from_bundle(bundle) == trial


def test_people_keys() -> None:
    people = parties.People([("Ann Lee, MD", "Duke"), ("Bo", "X"), ("Bo", "Y"), ("Cy", None)])
    assert people.key("ANN  LEE MD", None) == people.key("Ann Lee, MD", "duke") is not None
    assert people.key("Bo", None) not in (people.key("Bo", "X"), people.key("Bo", "Y"))
    assert people.key("Cy", None) == people.key("cy", "")
    assert people.key("", "Duke") is None and people.key(None, None) is None


@pytest.mark.parametrize("release", RELEASES)
def test_no_fixture_has_two_practitioners_of_one_person(release: str) -> None:
    """On every seed and fixture: no two Practitioners of one name unless their roles name different affiliations."""
    for path in all_inputs():
        bundle = to_bundle(trial_of(path), release)
        names = [identity_words(p["name"][0]["text"]) for p in resources(bundle, "Practitioner") if p.get("name")]
        doubles = {n for n in names if names.count(n) > 1}
        assert not doubles, (path.name, doubles)
