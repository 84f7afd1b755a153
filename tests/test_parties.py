"""People and places (issue 11): ISO 3166 countries, the HL7 contactpoint-extension, one Practitioner per person.

Each item both ways, in R5 and R4 (``to_bundle`` -> ``from_bundle``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.fhir.r5 import parties
from fhir_adapter.fhir.r5.parties import ORIGINAL_TEXT, country_of_region, iso_country, to_region
from fhir_adapter.model import Site, Trial
from fhir_adapter.terminology import mappings_dir

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
