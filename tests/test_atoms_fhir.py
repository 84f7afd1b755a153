"""Computable criteria (Criterion.combine, heading_exclude, definition = Atom / AtomGroup) through FHIR R5
EvidenceVariable and the R4 enrollment Group, both ways: the computable contract (docs/computable.md) section 1,
https://hl7.org/fhir/R5/evidencevariable.html and https://hl7.org/fhir/R4/group.html.

Codes used here, each confirmed: LOINC 751-8 "Neutrophils [#/volume] in Blood by Automated count"
(https://build.fhir.org/ig/standardhealth/fsh-ae/Observation-r201-9.html); SNOMED CT 260385009 "Negative" and
10828004 "Positive" (https://hl7.org/fhir/us/covid19library/informative1/ValueSet-covid19-pos-neg-vs.xml.html);
SNOMED CT 77386006 "Pregnant" (https://hl7.org/fhir/uv/ips/2.0.1/en/ValueSet-pregnancy-status-uv-ips.html);
characteristic-offset UNL / LNL (https://hl7.org/fhir/R5/codesystem-characteristic-offset.html).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhir_adapter.bundle import from_bundle, to_bundle
from fhir_adapter.computable.vocabulary import concept_for, kind_of
from fhir_adapter.errors import MappingError
from fhir_adapter.fhir.r4.common import OFFICIAL_XVER_BASE
from fhir_adapter.model import (
    Atom,
    AtomGroup,
    Code,
    Concept,
    Criterion,
    Eligibility,
    Quantity,
    TimeWindow,
    Trial,
)
from fhir_adapter.validate import validate
from fhir_adapter.validate.hapi import hapi_validate

RELEASES = ["R5", "R4"]
UCUM = "http://unitsofmeasure.org"


def _trial(criteria: list[Criterion], nct_id: str = "NCT09000001") -> Trial:
    return Trial(
        nct_id=nct_id, brief_title="Atoms", overall_status="RECRUITING", eligibility=Eligibility(criteria=criteria)
    )


def _atom(key: str, codes: list[Code] | None = None, **fields: Any) -> Atom:
    """An atom on the vocabulary concept ``key`` (with hand-confirmed ``codes`` added), its kind from the table."""
    concept = concept_for(key)
    concept.codes = codes or concept.codes
    kind = kind_of(concept)
    assert kind is not None, key
    return Atom(kind=kind, concept=concept, **fields)


ANC = [Code("loinc", "751-8", "Neutrophils [#/volume] in Blood by Automated count")]
NEGATIVE = Concept([Code("snomed", "260385009", "Negative")], "Negative")
PREGNANT = [Code("snomed", "77386006", "Pregnant")]


def _every_shape() -> list[Criterion]:
    """One criterion per atom shape of the contract, inclusion and exclusion, nested and not."""
    return [
        Criterion(
            "ANC >= 1.5 x 10^9/L",
            definition=_atom("anc", ANC, quantity=Quantity(1.5, ">=", "10*9/L", "x 10^9/L")),
        ),
        Criterion(
            "ECOG performance status 0-1",
            definition=_atom("ecog", low=Quantity(0), high=Quantity(1)),
        ),
        Criterion(
            "Age 18 to 75 years", definition=_atom("age", low=Quantity(18, unit="a"), high=Quantity(75, unit="a"))
        ),
        Criterion("ALT <= 2.5 x ULN", definition=_atom("alt", quantity=Quantity(2.5, "<=", "{ULN}", "x ULN"))),
        Criterion("Platelets >= 0.5 x LLN", definition=_atom("platelets", quantity=Quantity(0.5, ">=", "{LLN}"))),
        Criterion("Negative HIV test", definition=_atom("hiv-test", value=NEGATIVE)),
        Criterion("No prior chemotherapy", definition=AtomGroup("all-of", [_atom("chemotherapy", exclude=True)])),
        Criterion(
            "ALT and AST <= 3 x ULN, no radiotherapy",
            definition=AtomGroup(
                "all-of",
                [
                    _atom("alt", quantity=Quantity(3, "<=", "{ULN}")),
                    _atom("ast", quantity=Quantity(3, "<=", "{ULN}")),
                    _atom("radiotherapy", exclude=True),
                ],
            ),
        ),
        Criterion("Pregnancy", exclude=True, definition=_atom("pregnancy", PREGNANT)),
        Criterion(
            "Pregnant or breastfeeding",
            exclude=True,
            definition=AtomGroup("any-of", [_atom("pregnancy", PREGNANT), _atom("breastfeeding")]),
        ),
        Criterion(
            "VEGFR TKI within 6 months before the first dose",
            exclude=True,
            definition=_atom("vegfr-tki", windows=[TimeWindow(-6, 0, "mo", concept_for("first-dose"))]),
        ),
        Criterion(
            "Breastfeeding within 12 weeks after a pregnancy, or systolic BP >= 140 mmHg",
            exclude=True,
            definition=AtomGroup(
                "any-of",
                [
                    _atom(
                        "breastfeeding",
                        windows=[TimeWindow(0, 12, "wk", Concept(PREGNANT, "Pregnancy"))],
                    ),
                    AtomGroup(
                        "all-of",
                        [
                            _atom("systolic-bp", quantity=Quantity(140, ">=", "mm[Hg]", "mmHg")),
                            _atom("diastolic-bp", quantity=Quantity(90, ">=", "mm[Hg]"), exclude=True),
                        ],
                    ),
                ],
            ),
        ),
        Criterion(
            "Adequate organ function:",
            children=[
                Criterion("Hb >= 90 g/L", definition=_atom("hemoglobin", quantity=Quantity(90, ">=", "g/L"))),
                Criterion("as judged by the investigator"),
            ],
        ),
        Criterion(
            "Any of the following:",
            exclude=True,
            combine="any-of",
            children=[
                Criterion(
                    "No measurable disease", definition=AtomGroup("all-of", [_atom("measurable-disease", exclude=True)])
                ),
                Criterion(
                    "Life expectancy < 3 months", definition=_atom("life-expectancy", quantity=Quantity(3, "<", "mo"))
                ),
            ],
        ),
        Criterion("Melanomas of the eye are excluded.", exclude=True, heading_exclude=False),
    ]


@pytest.mark.parametrize("release", RELEASES)
def test_any_of_sub_list_and_child_exclude_survive(release: str) -> None:
    """An "any of the following" sub-list keeps any-of; a sub-item of an exclusion item keeps exclude False, an
    "except:" sub-item True; nested sub-lists keep their own combination."""
    crit = [
        Criterion(
            "Any of the following:",
            exclude=True,
            combine="any-of",
            children=[
                Criterion("Uncontrolled hypertension"),
                Criterion(
                    "Prior therapy, except:",
                    combine="any-of",
                    children=[Criterion("hormonal therapy", exclude=True), Criterion("radiotherapy", exclude=True)],
                ),
            ],
        ),
        Criterion("All of:", children=[Criterion("a"), Criterion("b", exclude=True)]),
        Criterion("Mucosal melanomas are excluded.", exclude=True, heading_exclude=False),
    ]
    trial = _trial(crit)
    assert from_bundle(to_bundle(trial, release)) == trial
    if release == "R4":  # the flat Group: a sub-item of an exclusion excludes, its "except:" items do not
        group = next(e["resource"] for e in to_bundle(trial, "R4")["entry"] if e["resource"]["resourceType"] == "Group")
        assert [c["exclude"] for c in group["characteristic"]] == [
            True,
            True,
            True,
            False,
            False,
            False,
            False,
            True,
            True,
        ]


@pytest.mark.parametrize("release", RELEASES)
def test_every_atom_shape_round_trips_and_validates(release: str) -> None:
    trial = _trial(_every_shape())
    bundle = to_bundle(trial, release)
    assert [str(i) for i in validate(bundle, release) if i.is_error] == []
    assert from_bundle(bundle) == trial
    assert from_bundle(json.loads(json.dumps(bundle))) == trial
    assert from_bundle(to_bundle(trial, release, "transaction")) == trial


def _r5_chars() -> dict[str, dict[str, Any]]:
    ev = next(
        e["resource"]
        for e in to_bundle(_trial(_every_shape()))["entry"]
        if e["resource"]["resourceType"] == "EvidenceVariable"
    )
    return {c["description"]: c for c in ev["characteristic"] if "description" in c}


def test_r5_encoding_follows_the_contract() -> None:
    chars = _r5_chars()
    anc = chars["ANC >= 1.5 x 10^9/L"]["definitionByTypeAndValue"]
    assert anc["type"]["coding"] == [{"system": "http://loinc.org", "code": "751-8", "display": ANC[0].display}]
    assert anc["valueQuantity"] == {
        "value": 1.5,
        "comparator": ">=",
        "unit": "x 10^9/L",
        "system": UCUM,
        "code": "10*9/L",
    }
    alt = chars["ALT <= 2.5 x ULN"]["definitionByTypeAndValue"]
    assert alt["offset"] == {
        "coding": [
            {"system": "http://hl7.org/fhir/characteristic-offset", "code": "UNL", "display": "Upper Normal Limit"}
        ]
    }
    assert chars["Platelets >= 0.5 x LLN"]["definitionByTypeAndValue"]["offset"]["coding"][0]["code"] == "LNL"
    assert chars["ECOG performance status 0-1"]["definitionByTypeAndValue"]["valueRange"] == {
        "low": {"value": 0},
        "high": {"value": 1},
    }
    hiv = chars["Negative HIV test"]["definitionByTypeAndValue"]["valueCodeableConcept"]
    assert hiv["coding"][0] == {"system": "http://snomed.info/sct", "code": "260385009", "display": "Negative"}
    preg = chars["Pregnancy"]
    assert preg["exclude"] is True and preg["definitionCodeableConcept"]["coding"][0]["code"] == "77386006"
    no_chemo = chars["No prior chemotherapy"]
    assert "exclude" not in no_chemo
    assert no_chemo["definitionByCombination"]["code"] == "all-of"
    (member,) = no_chemo["definitionByCombination"]["characteristic"]
    assert member["exclude"] is True and "linkId" not in member and "definitionCodeableConcept" in member
    either = chars["Pregnant or breastfeeding"]["definitionByCombination"]
    assert either["code"] == "any-of" and len(either["characteristic"]) == 2
    tki = chars["VEGFR TKI within 6 months before the first dose"]
    assert tki["timeFromEvent"] == [
        {
            "description": "First dose of study treatment",
            "range": {
                "low": {"value": -6, "system": UCUM, "code": "mo"},
                "high": {"value": 0, "system": UCUM, "code": "mo"},
            },
        }
    ]
    nested = chars["Breastfeeding within 12 weeks after a pregnancy, or systolic BP >= 140 mmHg"]
    first, second = nested["definitionByCombination"]["characteristic"]
    assert first["timeFromEvent"][0]["eventCodeableConcept"]["coding"][0]["code"] == "77386006"
    assert second["definitionByCombination"]["code"] == "all-of"
    assert second["definitionByCombination"]["characteristic"][1]["exclude"] is True


def test_r4_group_carries_code_value_and_exclude() -> None:
    """R4: the atom's concept as ``code``, its value as ``value[x]``, its polarity as ``exclude``; the rest in
    extensions."""
    group = next(
        e["resource"]
        for e in to_bundle(_trial(_every_shape()), "R4")["entry"]
        if e["resource"]["resourceType"] == "Group"
    )
    chars = group["characteristic"]
    by_code: dict[str | None, list[dict[str, Any]]] = {}
    for c in chars:
        by_code.setdefault(c["code"].get("text"), []).append(c)
    anc = by_code["Absolute neutrophil count"][0]
    assert anc["valueQuantity"]["code"] == "10*9/L" and anc["exclude"] is False
    preg = [c for c in by_code["Pregnancy"] if c.get("valueBoolean")]
    assert preg and all(c["valueBoolean"] is True and c["exclude"] is True for c in preg)
    # exclude is the polarity in the flat Group: negations of every level combined
    assert [c["exclude"] for c in by_code["Chemotherapy"]] == [True]  # "no prior chemotherapy" (inclusion)
    assert [c["exclude"] for c in by_code["Breastfeeding"]] == [True, True]  # under exclusions
    assert [c["exclude"] for c in by_code["Diastolic blood pressure"]] == [False]  # excluded within an exclusion
    assert [c["exclude"] for c in by_code["Measurable disease per RECIST"]] == [False]
    assert [c["exclude"] for c in by_code["Life expectancy"]] == [True]
    alt = by_code["Alanine aminotransferase"][0]
    urls = [e["url"] for e in alt["extension"]]
    # On a Group characteristic the EvidenceVariable children use our base: HL7's cross-version extensions of them
    # are allowed on R4 EvidenceVariable.characteristic only (fhir.r4.common)
    assert (
        "https://fhir-adapter.dev/StructureDefinition/r5-EvidenceVariable.characteristic.definitionByTypeAndValue.offset"
        in urls
    )
    assert not [
        u for u in (e["url"] for c in chars for e in c.get("extension", [])) if u.startswith(OFFICIAL_XVER_BASE)
    ]
    # the linkId is the element id, never the EvidenceVariable.characteristic.linkId extension
    assert all(c.get("id") for c in chars) and len({c["id"] for c in chars}) == len(chars)


def test_an_item_with_sub_items_and_a_definition_is_refused() -> None:
    crit = Criterion("x", children=[Criterion("y")], definition=_atom("pregnancy"))
    with pytest.raises(MappingError):
        to_bundle(_trial([crit]))


def test_an_excluded_definition_reads_back_as_a_one_member_all_of() -> None:
    """The criterion's characteristic has one ``exclude`` (the criterion's): an excluded atom is wrapped."""
    atom = _atom("chemotherapy", exclude=True)
    back = from_bundle(to_bundle(_trial([Criterion("No chemotherapy", definition=atom)])))
    assert back.eligibility.criteria[0].definition == AtomGroup("all-of", [atom])


@pytest.mark.hapi
def test_hapi_finds_no_errors_in_atoms(hapi_jar: Path) -> None:
    trial = _trial(_every_shape())
    for release in RELEASES:
        (issues,) = hapi_validate([to_bundle(trial, release)], release)
        assert [str(i) for i in issues if i.is_error] == [], release


def test_r4_member_of_an_unknown_criterion_is_left_out() -> None:
    """A foreign R4 Group whose atom points at no criterion: the atom is dropped, the rest reads."""
    trial = _trial(
        [Criterion("No prior chemotherapy", definition=AtomGroup("all-of", [_atom("chemotherapy", exclude=True)]))]
    )
    bundle = to_bundle(trial, "R4")
    group = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Group")
    member = group["characteristic"][-1]
    for ext in member["extension"]:
        if ext["url"].endswith("/criterion-atom"):
            ext["valueId"] = "inc-99"
    (back,) = from_bundle(bundle).eligibility.criteria
    assert back.text == "No prior chemotherapy" and back.definition is None
