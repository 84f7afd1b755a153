"""Writes the synthetic patients of tests/test_match.py: one R4 and one R5 collection Bundle per patient
(pNN-name.r4.json, pNN-name.r5.json), from the hand-written specs below. Run it after changing a spec:

    .venv/bin/python tests/data/patients/build.py

Every patient is the base patient (who passes every computable criterion of the test trials) with one change,
chosen by hand to exercise one atom kind one way. The codes, and where each is confirmed, are in README.md here.
R4 and R5 differ where the releases differ: Procedure performed[x] / occurrence[x], medication[x] / medication
(CodeableReference), MedicationStatement status not-taken (R4) / adherence not-taking (R5), statuses.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

HERE = Path(__file__).parent
LOINC, SNOMED, UCUM = "http://loinc.org", "http://snomed.info/sct", "http://unitsofmeasure.org"
RXNORM, ATC = "http://www.nlm.nih.gov/research/umls/rxnorm", "http://www.whocc.no/atc"
BASE_URL = "https://example.org/fhir"
LAB_DAY = "2026-06-01"


def q(value, code, unit=None):
    return {"value": value, "unit": unit or code, "system": UCUM, "code": code}


def obs(key, code, display, value=None, day=LAB_DAY, high=None, low=None, **extra):
    o = {
        "resourceType": "Observation",
        "id": key,
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": code, "display": display}]},
        "effectiveDateTime": day,
    }
    if value is not None:
        o["valueQuantity"] = value
    if high or low:
        o["referenceRange"] = [{k: v for k, v in (("low", low), ("high", high)) if v}]
    o.update(extra)
    return o


def base():
    """The base patient: a woman of 56 at the evaluation date (2026-06-15) who passes every computable criterion."""
    return {
        "patient": {"resourceType": "Patient", "id": "P", "gender": "female", "birthDate": "1970-03-10"},
        "ecog": obs("ecog", "89247-1", "ECOG Performance Status score", valueInteger=0),
        "anc": obs("anc", "751-8", "Neutrophils [#/volume] in Blood", q(3.2, "10*9/L")),
        "platelets": obs("platelets", "777-3", "Platelets [#/volume] in Blood", q(250, "10*9/L")),
        "hemoglobin": obs("hemoglobin", "718-7", "Hemoglobin [Mass/volume] in Blood", q(130, "g/L")),
        "creatinine": obs(
            "creatinine", "2160-0", "Creatinine [Mass/volume] in Serum or Plasma", q(0.9, "mg/dL"), high=q(1.2, "mg/dL")
        ),
        "bilirubin": obs(
            "bilirubin", "1975-2", "Bilirubin.total [Mass/volume] in Serum or Plasma", q(0.8, "mg/dL"), high=q(1.2, "mg/dL")
        ),
        "alt": obs("alt", "1742-6", "Alanine aminotransferase", q(30, "U/L"), high=q(40, "U/L")),
        "bp": obs(
            "bp",
            "85354-9",
            "Blood pressure panel",
            component=[
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": q(120, "mm[Hg]")},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": q(80, "mm[Hg]")},
            ],
        ),
        "hcg": obs(
            "hcg",
            "2106-3",
            "Choriogonadotropin [Presence] in Urine",
            day="2026-06-12",
            valueCodeableConcept={"coding": [{"system": SNOMED, "code": "260385009", "display": "Negative"}]},
        ),
        "pregnancy": {
            "resourceType": "Condition",
            "id": "pregnancy",
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "inactive"}]
            },
            "verificationStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}
                ]
            },
            "code": {"coding": [{"system": SNOMED, "code": "77386006", "display": "Pregnant"}]},
            "recordedDate": "2026-06-12",
        },
        "old-tki": med("old-tki", ATC, "L01EX11", start="2024-06-01", end="2025-01-01"),
        "old-rt": proc("old-rt", "108290001", "2025-06-01"),
    }


def med(key, system, code, start, end=None, kind="MedicationStatement", taken=True, reference=False):
    """A medication record in neutral form; ``release_of`` writes it as R4 or R5."""
    return {
        "_med": True,
        "kind": kind,
        "id": key,
        "coding": {"system": system, "code": code},
        "start": start,
        "end": end,
        "taken": taken,
        "reference": reference,
    }


def proc(key, code, day, status="completed"):
    return {"_proc": True, "id": key, "code": code, "day": day, "status": status}


def _medication(m, release):
    concept = {"coding": [m["coding"]]}
    out = {"resourceType": m["kind"], "id": m["id"], "subject": {"reference": "Patient/P"}}
    extra = []
    if m["reference"]:
        extra.append({"resourceType": "Medication", "id": f"{m['id']}-drug", "code": concept})
        ref = {"reference": f"Medication/{m['id']}-drug"}
        out.update({"medicationReference": ref} if release == "R4" else {"medication": {"reference": ref}})
    else:
        out.update({"medicationCodeableConcept": concept} if release == "R4" else {"medication": {"concept": concept}})
    if m["kind"] == "MedicationRequest":
        out.update({"status": "active", "intent": "order", "authoredOn": m["start"]})
        return [out, *extra]
    period = {"start": m["start"], **({"end": m["end"]} if m["end"] else {})}
    out["effectivePeriod"] = period
    if release == "R4":
        out["status"] = ("completed" if m["end"] else "active") if m["taken"] else "not-taken"
    else:
        out["status"] = "recorded"
        if not m["taken"]:
            code = "not-taking"
            system = "http://hl7.org/fhir/CodeSystem/medication-statement-adherence"
            out["adherence"] = {"code": {"coding": [{"system": system, "code": code}]}}
    return [out, *extra]


def _procedure(p, release):
    when = "performedDateTime" if release == "R4" else "occurrenceDateTime"
    return [
        {
            "resourceType": "Procedure",
            "id": p["id"],
            "status": p["status"],
            "code": {"coding": [{"system": SNOMED, "code": p["code"]}]},
            "subject": {"reference": "Patient/P"},
            when: p["day"],
        }
    ]


def bundle(name, spec, release):
    resources = []
    for item in spec.values():
        if item is None:
            continue
        if item.get("_med"):
            resources += _medication(item, release)
        elif item.get("_proc"):
            resources += _procedure(item, release)
        else:
            r = copy.deepcopy(item)
            if r["resourceType"] in ("Observation", "Condition"):
                r["subject"] = {"reference": "Patient/P"}
            resources.append(r)
    for r in resources:
        r["id"] = f"{name.split('-')[0]}-{r['id']}" if r["resourceType"] != "Patient" else name.split("-")[0]
    pid = name.split("-")[0]
    for r in resources:
        if "subject" in r:
            r["subject"] = {"reference": f"Patient/{pid}"}
        med_ref = r.get("medicationReference") or (r.get("medication") or {}).get("reference")
        if med_ref:
            med_ref["reference"] = f"Medication/{pid}-{med_ref['reference'].split('/')[1]}"
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"{BASE_URL}/{r['resourceType']}/{r['id']}", "resource": r} for r in resources],
    }


def variant(**changes):
    spec = base()
    for key, value in changes.items():
        spec[key.replace("_", "-")] = value
    return spec


def relab(spec, day):
    for key in ("ecog", "anc", "platelets", "hemoglobin", "creatinine", "bilirubin", "alt", "bp", "hcg"):
        spec[key]["effectiveDateTime"] = day
    return spec


PATIENTS = {
    "p01-eligible": variant(),
    "p02-ecog2": variant(ecog=obs("ecog", "89247-1", "ECOG Performance Status score", valueInteger=2)),
    "p03-anc-low": variant(anc=obs("anc", "751-8", "Neutrophils", q(1.0, "10*9/L"))),
    "p04-anc-per-ul": variant(anc=obs("anc", "751-8", "Neutrophils", q(1800, "/uL"))),
    "p05-platelets-low": variant(platelets=obs("platelets", "777-3", "Platelets", q(90, "10*3/uL"))),
    "p06-hemoglobin-gdl": variant(hemoglobin=obs("hemoglobin", "718-7", "Hemoglobin", q(8.5, "g/dL"))),
    "p07-alt-3uln": variant(alt=obs("alt", "1742-6", "ALT", q(130, "U/L"), high=q(40, "U/L"))),
    "p08-alt-no-range": variant(alt=obs("alt", "1742-6", "ALT", q(30, "U/L"))),
    "p09-stale": relab(variant(), "2026-03-01"),
    "p10-bp-high": variant(
        bp=obs(
            "bp",
            "85354-9",
            "Blood pressure panel",
            component=[
                {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": q(150, "mm[Hg]")},
                {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]}, "valueQuantity": q(85, "mm[Hg]")},
            ],
        )
    ),
    "p11-tki-recent": variant(new_tki=med("new-tki", ATC, "L01EX11", "2026-03-01", kind="MedicationRequest")),
    "p12-other-class": variant(old_tki=med("old-tki", ATC, "L01XX44", "2026-03-01"), old_rt=None),
    "p13-pregnant": variant(
        pregnancy={
            "resourceType": "Condition",
            "id": "pregnancy",
            "clinicalStatus": {
                "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
            },
            "verificationStatus": {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}
                ]
            },
            "code": {"coding": [{"system": SNOMED, "code": "77386006", "display": "Pregnant"}]},
            "onsetDateTime": "2026-04-20",
        }
    ),
    "p14-age-81": variant(patient={"resourceType": "Patient", "id": "P", "gender": "female", "birthDate": "1945-01-02"}),
    "p15-birth-year": variant(patient={"resourceType": "Patient", "id": "P", "gender": "unknown", "birthDate": "2008"}),
    "p16-rt-recent": variant(new_rt=proc("new-rt", "108290001", "2026-06-01")),
    "p17-creatinine-umol": variant(
        creatinine=obs(
            "creatinine", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", q(80, "umol/L"), high=q(110, "umol/L")
        )
    ),
    "p18-unit-not-ucum": variant(
        anc=obs("anc", "751-8", "Neutrophils", {"value": 3.2, "unit": "thousand cells per microlitre"})
    ),
    "p19-censored": variant(anc=obs("anc", "751-8", "Neutrophils", {**q(0.5, "10*9/L"), "comparator": "<"})),
    "p20-paclitaxel": variant(taxol=med("taxol", RXNORM, "56946", "2025-02-01", "2025-05-01")),
    "p21-paclitaxel-not-taken": variant(
        taxol=med("taxol", RXNORM, "56946", "2025-02-01", "2025-05-01", taken=False),
        creatinine=obs(
            "creatinine", "14682-9", "Creatinine [Moles/volume] in Serum or Plasma", q(80, "umol/L"), high=q(110, "umol/L")
        ),
    ),
    "p22-male": variant(patient={"resourceType": "Patient", "id": "P", "gender": "male", "birthDate": "1970-03-10"}, hcg=None, pregnancy=None),
    "p23-ecog-coded": variant(
        ecog=obs(
            "ecog",
            "89247-1",
            "ECOG Performance Status score",
            valueCodeableConcept={"coding": [{"system": LOINC, "code": "LA9622-7"}]},
        )
    ),
    "p24-tki-by-reference": variant(new_tki=med("new-tki", ATC, "L01EX11", "2026-05-01", reference=True)),
}


def main():
    for name, spec in PATIENTS.items():
        for release in ("R4", "R5"):
            path = HERE / f"{name}.{release.lower()}.json"
            path.write_text(json.dumps(bundle(name, spec, release), indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
