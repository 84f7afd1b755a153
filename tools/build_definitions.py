"""Build fhir-adapter's published definitions: ``mappings/definitions/<R5|R4>/*.json``.

HAPI's validator (and any FHIR server) can only check codes and extensions it has definitions for. This tool writes,
for FHIR R5 (5.0.0) and R4 (4.0.1):

- a `CodeSystem <https://hl7.org/fhir/R5/codesystem.html>`_ for every ClinicalTrials.gov API v2 enum we emit
  (``content: complete``: the codes are the enum's whole value list in ``mappings/ctgov-enums.json``, from the API's
  OpenAPI document https://clinicaltrials.gov/data-api/api, see also
  https://clinicaltrials.gov/data-api/about-api/study-data-structure; each must equal the source codes of the axis'
  ConceptMap, displays come from it), one for each legacy XML / API v1 wording system (``content: fragment``: the
  wordings the ConceptMaps' second group knows), and one for each of our own systems (``codeSystems`` in
  ``mappings/extensions.json``);
- a `ValueSet <https://hl7.org/fhir/R5/valueset.html>`_ of all codes of each of those CodeSystems
  (``https://fhir-adapter.dev/ValueSet/<id>``), which the extensions bind to;
- an extension `StructureDefinition <https://hl7.org/fhir/R5/extensibility.html>`_ for every row of ``extensions`` in
  ``mappings/extensions.json`` (context per release, value[x] type or the sub-extensions of a complex extension).

Adding an extension is one row in ``mappings/extensions.json``, then::

    .venv/bin/python tools/build_definitions.py            # rewrites mappings/definitions/
    .venv/bin/python tools/build_definitions.py --check    # exit 1 when the files differ from what it would write
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MAPPINGS = ROOT / "mappings"
OUT = MAPPINGS / "definitions"
FHIR_VERSIONS = {"R5": "5.0.0", "R4": "4.0.1"}
EXT_BASE = "https://fhir-adapter.dev/StructureDefinition/"
VS_BASE = "https://fhir-adapter.dev/ValueSet/"
API_SOURCE = (
    "ClinicalTrials.gov data API v2 (OpenAPI https://clinicaltrials.gov/data-api/api; field and enum list "
    "https://clinicaltrials.gov/data-api/about-api/study-data-structure)"
)
JSON = dict[str, Any]


def load(name: str) -> Any:
    """One JSON file of ``mappings/``."""
    return json.loads((MAPPINGS / name).read_text(encoding="utf-8"))


def pascal(text: str) -> str:
    """``"ctgov-contact-role"`` -> ``"CtgovContactRole"`` (a computable FHIR ``name``)."""
    return "".join(part[:1].upper() + part[1:] for part in text.replace(".", "-").split("-") if part)


def common(table: JSON, resource_type: str, rid: str, url: str, title: str) -> JSON:
    """The metadata every published resource shares."""
    out: JSON = {"resourceType": resource_type, "id": rid, "url": url, "version": table["version"]}
    out |= {"name": pascal(rid), "title": title, "status": "active", "experimental": False, "date": table["date"]}
    out["publisher"] = "fhir-adapter"
    out["contact"] = [{"telecom": [{"system": "url", "value": "https://fhir-adapter.dev"}]}]
    return out


def code_system(table: JSON, rid: str, url: str, title: str, description: str, concepts: list[JSON]) -> JSON:
    """A CodeSystem (R5 and R4 share its form) with its all-codes ValueSet named in ``valueSet``."""
    out = common(table, "CodeSystem", rid, url, title)
    out["description"] = description
    out |= {"caseSensitive": True, "valueSet": VS_BASE + rid, "content": "complete", "count": len(concepts)}
    out["concept"] = concepts
    return out


def value_set(table: JSON, cs: JSON) -> JSON:
    """The ValueSet of every code of ``cs``."""
    out = common(table, "ValueSet", cs["id"], cs["valueSet"], f"{cs['title']} (all codes)")
    out["description"] = f"Every code of the code system {cs['url']}."
    out["compose"] = {"include": [{"system": cs["url"]}]}
    return out


def ctgov_code_systems(table: JSON) -> list[JSON]:
    """One CodeSystem per ct.gov API v2 enum (complete) and one per legacy wording system (fragment)."""
    systems: dict[str, str] = load("systems.json")
    enums: JSON = load("ctgov-enums.json")
    out: list[JSON] = []
    for axis, entry in enums["axes"].items():
        cmap = load(f"ctgov-{axis}.conceptmap.json")
        displays = {e["code"]: e.get("display", e["code"]) for e in cmap["group"][0]["element"]}
        sources = {code for code in displays if "|" not in code}  # "PHASE1|PHASE2": a pair of codes, not a code
        if sources != set(entry["values"]):
            raise SystemExit(f"{axis}: the ConceptMap's source codes {sorted(sources)} are not the enum's values")
        concepts = [{"code": v, "display": displays[v]} for v in entry["values"]]
        description = (
            f"The values of the ClinicalTrials.gov API v2 enum {entry['enum']} ({axis}), the whole enum as the API "
            f"documents it. Source: {API_SOURCE}; {enums['source']}, checked {enums['dateChecked']}. Published by "
            "fhir-adapter so that validators and servers can check the codes it writes."
        )
        title = f"ClinicalTrials.gov {entry['enum']}"
        out.append(code_system(table, f"ctgov-{axis}", systems[f"ctgov-{axis}"], title, description, concepts))
        legacy = [g for g in cmap["group"][1:] if g["source"] == systems.get(f"ctgov-legacy-{axis}")]
        if legacy:
            out.append(legacy_code_system(table, axis, legacy[0]))
    return out


def legacy_code_system(table: JSON, axis: str, group: JSON) -> JSON:
    """The legacy clinical_study XML / API v1 wordings of ``axis`` that the ConceptMap reads (a fragment)."""
    concepts: list[JSON] = []
    for element in group["element"]:
        target = (element.get("target") or [{}])[0].get("code")
        meaning = f"API v2 token {target}" if target else "no API v2 token"
        concepts.append({"code": element["code"], "display": element["code"], "definition": f"Read as {meaning}."})
    description = (
        f"The wordings of the legacy ClinicalTrials.gov clinical_study XML and API v1 for {axis}, as fhir-adapter "
        f"reads them (mappings/ctgov-{axis}.conceptmap.json, second group). A fragment: only the wordings seen in the "
        "fixtures and the classic data element definitions."
    )
    out = code_system(
        table, f"ctgov-legacy-{axis}", group["source"], f"ClinicalTrials.gov legacy {axis}", description, concepts
    )
    out |= {"caseSensitive": False, "content": "fragment"}
    return out


def own_code_systems(table: JSON) -> list[JSON]:
    """Our own code systems, from ``codeSystems`` in ``mappings/extensions.json``."""
    out: list[JSON] = []
    for row in table["codeSystems"]:
        cs = code_system(table, row["id"], row["url"], row["title"], row["description"], row["concepts"])
        cs |= {"status": row["status"], "content": row.get("content", "complete")}
        if cs["content"] == "not-present":  # the codes exist but are not listed (an identifier space)
            del cs["count"], cs["concept"]
        out.append(cs)
    return out


def contexts(row: JSON, release: str) -> list[JSON]:
    """The SD ``context`` of an extension row in ``release``: an element path, or the URL of the extension it sits
    in (type ``extension``)."""
    return [
        {"type": "extension" if c.startswith("http") else "element", "expression": c} for c in row["context"][release]
    ]


def types_of(codes: list[str]) -> list[JSON]:
    """ElementDefinition types: ``"Reference(Organization)"`` -> code Reference with its target profile."""
    out: list[JSON] = []
    for code in codes:
        if code.endswith(")"):
            name, target = code[:-1].split("(", 1)
            out.append({"code": name, "targetProfile": [f"http://hl7.org/fhir/StructureDefinition/{target}"]})
        else:
            out.append({"code": code})
    return out


def value_elements(prefix: str, sid: str, codes: list[str], binding: JSON | None) -> list[JSON]:
    """The ``value[x]`` element of an extension (``prefix`` is ``Extension`` or a slice's path), bound if asked."""
    element: JSON = {"id": f"{sid}.value[x]", "path": f"{prefix}.value[x]", "min": 1, "type": types_of(codes)}
    if binding:
        element["binding"] = {"strength": binding["strength"], "valueSet": VS_BASE + binding["valueSet"]}
    return [element]


def complex_elements(row: JSON) -> list[JSON]:
    """The sub-extension slices of a complex extension (sliced by url, open) and an empty ``value[x]``."""
    elements: list[JSON] = [
        {
            "id": "Extension.extension",
            "path": "Extension.extension",
            "slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"},
        }
    ]
    for child in row["children"]:
        sid = f"Extension.extension:{child['name']}"
        elements.append(
            {
                "id": sid,
                "path": "Extension.extension",
                "sliceName": child["name"],
                "min": child["min"],
                "max": child["max"],
            }
        )
        elements.append({"id": f"{sid}.extension", "path": "Extension.extension.extension", "max": "0"})
        elements.append({"id": f"{sid}.url", "path": "Extension.extension.url", "fixedUri": child["name"]})
        elements += value_elements("Extension.extension", sid, child["value"], child.get("binding"))
    elements.append({"id": "Extension.url", "path": "Extension.url", "fixedUri": EXT_BASE + row["name"]})
    elements.append({"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"})
    return elements


def extension_definition(table: JSON, row: JSON, release: str) -> JSON:
    """The StructureDefinition of one extension row, in ``release``."""
    out = common(table, "StructureDefinition", row["name"], EXT_BASE + row["name"], row["title"])
    out |= {"status": row["status"], "description": row["description"], "fhirVersion": FHIR_VERSIONS[release]}
    out |= {"kind": "complex-type", "abstract": False, "context": contexts(row, release), "type": "Extension"}
    out |= {"baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension", "derivation": "constraint"}
    root: JSON = {"id": "Extension", "path": "Extension", "short": row["title"], "definition": row["description"]}
    if "children" in row:
        elements = [root, *complex_elements(row)]
    else:
        elements = [
            root,
            {"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
            {"id": "Extension.url", "path": "Extension.url", "fixedUri": EXT_BASE + row["name"]},
            *value_elements("Extension", "Extension", row["value"], row.get("binding")),
        ]
    out["differential"] = {"element": elements}
    return out


def build(release: str) -> dict[str, JSON]:
    """Every definition of ``release`` by file name (``CodeSystem-<id>.json``, ...)."""
    table: JSON = load("extensions.json")
    systems = [*ctgov_code_systems(table), *own_code_systems(table)]
    resources = [*systems, *(value_set(table, cs) for cs in systems)]
    resources += [extension_definition(table, row, release) for row in table["extensions"] if release in row["context"]]
    return {f"{r['resourceType']}-{r['id']}.json": r for r in resources}


def text_of(resource: JSON) -> str:
    """The file text of a definition: indented JSON and a final newline."""
    return json.dumps(resource, indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the files instead of writing them")
    args = parser.parse_args(argv)
    stale: list[str] = []
    for release in FHIR_VERSIONS:
        folder = OUT / release
        wanted = {name: text_of(r) for name, r in build(release).items()}
        present = {p.name for p in folder.glob("*.json")} if folder.is_dir() else set()
        for name in sorted(present - set(wanted)):
            stale.append(f"{release}/{name} (no longer built)")
            if not args.check:
                (folder / name).unlink()
        for name, text in wanted.items():
            path = folder / name
            if path.is_file() and path.read_text(encoding="utf-8") == text:
                continue
            stale.append(f"{release}/{name}")
            if not args.check:
                folder.mkdir(parents=True, exist_ok=True)
                path.write_text(text, encoding="utf-8")
    sys.stdout.write(("differ: " if args.check else "written: ") + (", ".join(stale) or "none") + "\n")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
