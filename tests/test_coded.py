"""``fhir.common.coded`` holds no empty value (ele-1) for every axis and token of the mapping tables, tokens outside
them and any text: it equals the pruned concept it was before it left empty values out, so builders need not prune
it; nor do the ResearchStudy elements ``bundle`` leaves unpruned (``research_study.BUILT_CLEAN``), nor the resources
added to a trial's ``Context`` (``clean=True``: the eligibility criteria and their computable parts ...)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.bundle import to_bundle
from fhir_adapter.fhir.common import Context, coded, ctgov_coding, prune
from fhir_adapter.fhir.r5.research_study import BUILT_CLEAN, to_research_study
from fhir_adapter.model import (
    AgeLimit,
    Arm,
    Atom,
    AtomGroup,
    Code,
    Concept,
    Contact,
    Criterion,
    DataSharing,
    DateInfo,
    Design,
    Link,
    Mesh,
    Outcome,
    Quantity,
    Reference,
    SecondaryId,
    Site,
    TimeWindow,
    Trial,
)
from fhir_adapter.model_regimen import (
    Count,
    DayRun,
    Dose,
    DrugActivity,
    Frequency,
    Phase,
    Radiotherapy,
    Regimen,
    Sequencing,
    Surgery,
)
from fhir_adapter.release import FhirRelease
from fhir_adapter.sources import read_records

_DATA = Path(__file__).parent / "data"

_OUTSIDE = ("", " ", "N/A", "NOT_A_TOKEN", "Not a token")  # kept as the source gave them (legacy wordings, typos)


def _tokens(axis: str) -> set[str]:
    """Every token of an axis: the API v2 enum, the ConceptMaps' source and target codes, tokens outside them."""
    out = set(terminology.enum_values(axis)) | set(_OUTSIDE)
    for path in terminology.mappings_dir().glob(f"ctgov-{axis}*.conceptmap.json"):
        for group in json.loads(path.read_text(encoding="utf-8"))["group"]:
            for element in group["element"]:
                out.add(element["code"])
                out.update(t["code"] for t in element.get("target", []))
    return out


def _before(axis: str, token: str, text: str | None, release: FhirRelease) -> dict[str, Any]:
    """``coded`` as it was written before it left empty values out."""
    fhir = terminology.to_fhir(axis, token, release)
    codings = [fhir.to_fhir(), ctgov_coding(axis, token)] if fhir is not None else [ctgov_coding(axis, token)]
    return {"coding": codings, "text": text or terminology.ctgov_display(axis, token)}


def _axes() -> list[str]:
    return [a for a in terminology.axes() if (terminology.mappings_dir() / f"ctgov-{a}.conceptmap.json").is_file()]


def test_coded_is_the_pruned_concept_for_every_axis_and_token() -> None:
    axes = _axes()
    assert len(axes) >= 20
    checked = 0
    for axis in axes:
        for token in sorted(_tokens(axis)):
            for release in FhirRelease:
                for text in (None, "", "own words"):
                    concept = coded(axis, token, text, release)
                    assert concept is not None
                    assert prune(concept) is concept, (axis, token, release, text)  # nothing empty to drop
                    assert concept == prune(_before(axis, token, text, release)), (axis, token, release, text)
                    assert concept["coding"], (axis, token)
                    checked += 1
    assert checked > 1000


def test_coded_hands_out_copies() -> None:
    first = coded("allocation", "RANDOMIZED")
    assert first is not None
    first["coding"][0]["code"] = "changed"
    first["coding"].append({})
    again = coded("allocation", "RANDOMIZED")
    assert again is not None and again["coding"][0]["code"] != "changed" and {} not in again["coding"]


def test_registration_and_oversight_tables_have_no_empty_code_or_display() -> None:
    """``progress.to_registration`` and ``study_facts`` write these unpruned."""
    table = terminology.registration_table()
    for row in table["registration"]:
        assert isinstance(row["code"], str) and row["code"] and isinstance(row["display"], str) and row["display"]
    for row in table["oversight"]:
        assert row["label"] and all(row[k] for k in ("code", "display") if k in row)
    assert table["hasResults"]["label"] and all(table["yesNo"].values())
    assert table["overallStudy"]["code"] and table["overallStudy"]["display"]


def test_country_table_has_no_empty_code_or_display() -> None:
    """``parties.to_region`` writes the ISO coding unpruned."""
    table = json.loads((terminology.mappings_dir() / "iso3166-countries.json").read_text(encoding="utf-8"))
    for c in table["countries"]:
        assert isinstance(c["code"], str) and c["code"] and isinstance(c["display"], str) and c["display"]
    assert all(row["code"] is None or row["code"] for row in table["ctgov"])


def _fixture_trials() -> list[Trial]:
    paths = sorted((_DATA / "ctgov-v2").glob("*.json")) + sorted((_DATA / "ctgov-xml").glob("*.xml"))
    paths += [_DATA / "ctgov-v1" / "covid-19-search-page.json"]
    return [r.trial for r in read_records(paths) if r.trial is not None and r.trial.nct_id]


def _bare(t: Trial) -> Trial:
    """A trial with empty and missing values where the mappers test for them."""
    none = DateInfo("", None)
    return dataclasses.replace(
        t,
        first_submitted_date="",
        first_posted_date=none,
        has_results=False,
        design=Design(primary_purpose=""),
        conditions=["", "a condition"],
        keywords=["", "a keyword"],
        condition_meshes=[Mesh("", ""), Mesh("D000001", ""), Mesh("", "a term")],
        intervention_meshes=[Mesh("", "")],
        nct_aliases=["", "NCT00000001"],
        org_study_id=SecondaryId("", "", ""),
        secondary_ids=[SecondaryId("", None, "a registry"), SecondaryId("x", "OTHER", None, "")],
        enrollment_type="",
        enrollment_count=0,
        start_date=DateInfo("", "ACTUAL"),
        completion_date=DateInfo("2020-01", None),
        last_known_status="RECRUITING",
        arms=[Arm(""), Arm("an arm", "", "")],
    )


def test_built_clean_study_elements_hold_no_empty_value() -> None:
    """What ``bundle`` does not prune of a ResearchStudy (``BUILT_CLEAN``) is as ``prune`` would leave it."""
    trials = _fixture_trials()
    assert len(trials) > 20
    for t in trials + [_bare(t) for t in trials[:10]]:
        study = to_research_study(Context(t.nct_id or ""), t)
        for name in BUILT_CLEAN & study.keys():
            assert prune(study[name]) is study[name] or study[name] in (None, "", [], {}), (t.nct_id, name)


def _empty_parts(t: Trial) -> Trial:
    """A trial whose eligibility holds criteria and computable parts with empty values where the mappers test for
    them (texts, codes, displays, units, combinations, members, windows)."""
    empty = Concept([Code("", "", ""), Code("loinc", "", None), Code("snomed", "1", "")], "")
    atoms: list[Atom | AtomGroup] = [
        Atom("", empty),
        Atom("", Concept()),
        Atom("lab", empty, quantity=Quantity(1.5, None, "", "")),
        Atom("lab", Concept(text="x"), low=Quantity(0.0, unit="", unit_text=""), windows=[TimeWindow(unit="")]),
        Atom("lab", empty, windows=[TimeWindow(1.0, None, "", Concept([Code("", "", "")], "")), TimeWindow(2, 2)]),
        Atom("lab", Concept(text="x"), value=empty, exclude=True),
        Atom("lab", Concept(), value=Concept(), exclude=True),
        Atom("lab", Concept(text="x"), quantity=Quantity(2, ">", unit="{ULN}"), low=Quantity(1, unit="{LLN}")),
        AtomGroup("", [Atom("", empty), AtomGroup("any-of", []), AtomGroup("", [], exclude=True)]),
        AtomGroup("any-of", [], exclude=True),
        AtomGroup("", []),
    ]
    criteria = [Criterion(f"c{i}" if i % 2 else "", exclude=i % 3 == 0, definition=a) for i, a in enumerate(atoms)]
    criteria.append(Criterion("", children=[Criterion(""), Criterion("x", exclude=True)], combine=""))
    eligibility = dataclasses.replace(
        t.eligibility,
        criteria=criteria,
        criteria_text="",
        minimum_age=AgeLimit(0, "years"),
        maximum_age=AgeLimit(3, "months"),
        std_ages=["", "ADULT"],
        gender_description="",
        study_population="",
        sex="FEMALE",
    )
    contacts = [
        Contact("", "", "", "", ""),
        Contact("A Name", None, "", "12", ""),
        Contact(None, "CONTACT", "555", None, "a@b.c"),
        Contact("B Name", "PRINCIPAL_INVESTIGATOR", None, "", "b@c.d"),
    ]
    return dataclasses.replace(
        t,
        eligibility=eligibility,
        arms=[*t.arms, *_empty_regimen_arms()],
        sites=[*t.sites[:3], Site("", "", "", "", "", "", contacts=contacts), Site(contacts=contacts[1:2])],
        central_contacts=contacts,
        phases=["", "PHASE2", "NOT_A_PHASE"],
        references=[Reference(), Reference("", "", ""), Reference("a citation", "123", "RESULT"), Reference(type="X")],
        see_also_links=[Link(""), Link("https://example.org", "")],
        unmapped={"": "a text", "a.path": "", "b.path": "text"},
        data_sharing=DataSharing("", "", ["", "SAP"], "", None, ""),
    )


def _empty_regimen_arms() -> list[Arm]:
    """Arms whose regimens hold empty texts, units, doses, counts, frequencies and offsets."""
    blank = Quantity(1, unit="", unit_text="")
    drugs = [
        DrugActivity(
            "", [Dose(), Dose(1.5, unit="", unit_text=""), Dose(None, 1, 2, "mg", "")], "", Frequency(2, 1, "")
        ),
        DrugActivity("cisplatin", [], "oral", Frequency(1, 1, "d", "daily"), [DayRun(1, 1), DayRun(8, 10)]),
        DrugActivity("Unknown drug", [Dose(0, unit="mg")], "no such route", None, [DayRun(1, 3), DayRun(8, 10)]),
        DrugActivity("", sequencing=[Sequencing("", "cisplatin", blank, Quantity(2, ">", "h")), Sequencing("x", "")]),
    ]
    others: list[DrugActivity | Radiotherapy | Surgery] = [
        Radiotherapy("", Dose(), Count(1, 1), None, ["", "IMRT"]),
        Radiotherapy(total_dose=Dose(60, unit="Gy"), fractions=Count(30, 33), dose_per_fraction=Dose(2, unit="Gy")),
        Radiotherapy(),
        Surgery(""),
        Surgery("no such procedure", text="x"),
    ]
    phases = [
        Phase("", Count(1, 1), blank, "", Quantity(2, unit="a"), [*drugs, *others], ""),
        Phase("Treatment", None, None, None, blank, []),
        Phase("Maintenance", Count(4, 6), Quantity(21, unit="d"), "until progression", None, drugs[:2], "text"),
    ]
    return [Arm("", regimen=Regimen(phases)), Arm("an arm", regimen=Regimen([]))]


def test_resources_added_clean_hold_no_empty_value() -> None:
    """Every resource of a trial's Context is as ``prune`` would leave it, those added without pruning included, and so
    is every resource of its bundle."""
    trials = _fixture_trials()
    for t in trials + [_bare(t) for t in trials[:10]] + [_empty_parts(t) for t in trials[:10]]:
        ctx = Context(t.nct_id or "")
        to_research_study(ctx, t)
        for url, resource in ctx.resources.items():
            assert prune(resource) is resource, (t.nct_id, url, resource["resourceType"])
        for entry in to_bundle(t)["entry"]:  # the study and the Provenance too
            assert prune(entry["resource"]) is entry["resource"], (t.nct_id, entry["resource"]["resourceType"])


def _old_time_from_event(w: TimeWindow) -> dict[str, Any]:
    """The time point as it was built before it was built clean (then pruned by ``to_outcome``)."""
    from fhir_adapter.fhir.r5.criterion_atoms import _system_uri

    codings = [{"system": _system_uri(k.system), "code": k.code, "display": k.display} for k in w.event.codes]
    cc = {"coding": [{k: v for k, v in x.items() if v is not None} for x in codings], "text": w.event.text}
    event = cc if w.event.codes or w.event.text else None

    def duration(value: float) -> dict[str, Any]:
        number = int(value) if float(value).is_integer() else value
        return {"value": number, "system": terminology.system("ucum"), "code": w.unit}

    if w.low is not None and w.low == w.high:
        return {"eventCodeableConcept": event, "quantity": duration(w.low)}
    bounds = {"low": w.low, "high": w.high}
    return {"eventCodeableConcept": event, "range": {k: duration(v) for k, v in bounds.items() if v is not None}}


def test_outcome_time_frames_are_built_as_prune_left_them() -> None:
    """An outcome's ``timeFromEvent`` entries, built clean, equal the pruned entries of the former construction (key
    order included), on the fixture outcomes and on outcomes and windows with empty parts."""
    from fhir_adapter.fhir.r5 import evidence_variable as ev

    windows = [
        TimeWindow(),
        TimeWindow(unit=""),
        TimeWindow(0, 0, ""),
        TimeWindow(0.0, 0.0, "d", Concept(text="randomization")),
        TimeWindow(1.0, None, "", Concept([Code("", "", "")], "")),
        TimeWindow(None, 2.5, "wk", Concept([Code("snomed", "1", ""), Code("loinc", "", None)], None)),
        TimeWindow(-4, 0, "wk", Concept([Code("snomed", "2", "x")], "an event")),
        TimeWindow(2, 2, "mo", Concept(text="")),
    ]
    for w in windows:
        old = prune(_old_time_from_event(w))
        assert list(ev._time_from_event(w).items()) == list(old.items()), w
    outcomes = [o for t in _fixture_trials() for o in t.outcomes]
    outcomes += [Outcome(""), Outcome("", time_frame=""), Outcome("Week 12 HbA1c"), Outcome("x", time_frame="12 weeks")]
    assert len(outcomes) > 100
    for o in outcomes:
        points = ev._time_windows(o.time_frame) if o.time_frame else ev.measure_time_points(o.measure)
        old = [_old_time_from_event(w) for w in points]
        if o.time_frame:
            old[:1] = [{"description": o.time_frame, **(old[0] if old else {})}]
        assert json.dumps(ev.time_frame_elements(o)) == json.dumps(prune(old)), o
