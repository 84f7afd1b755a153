"""fhir-adapter's published definitions: the CodeSystems, ValueSets and extension StructureDefinitions of the codes
and extensions its bundles use that HL7 does not define.

They are files in ``mappings/definitions/<R5|R4>/`` (inside the wheel ``fhir_adapter/mappings/definitions``), written
by ``tools/build_definitions.py`` from ``mappings/extensions.json``, the ct.gov enum lists and the ConceptMaps:

- a `CodeSystem <https://hl7.org/fhir/R5/codesystem.html>`_ per ClinicalTrials.gov API v2 enum
  (``https://clinicaltrials.gov/data-api/api#enum-<Enum>``, complete), per legacy XML wording system (fragment) and
  per system of our own (``https://fhir-adapter.dev/CodeSystem/<id>``), each with its all-codes ValueSet;
- an `extension StructureDefinition <https://hl7.org/fhir/R5/extensibility.html>`_ per extension
  ``https://fhir-adapter.dev/StructureDefinition/<name>``.

HAPI's validator loads them (``validate/hapi.py``), ``fhir-adapter definitions -o DIR`` writes them and ``push``
uploads the ones a bundle uses before the bundle (conditional PUT by url).

    definitions_dir(release) -> Path            the folder of one release's definition files
    definitions(release) -> list[JSON]          every definition of the release
    definition_urls(release) -> frozenset[str]  their canonical URLs
    used_urls(resource) -> set[str]             every extension URL and code system a resource (or bundle) uses
    definitions_used(resources, release)        the definitions those resources use, CodeSystems before ValueSets
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import orjson

from fhir_adapter.release import FhirRelease
from fhir_adapter.terminology import mappings_dir

__all__ = ["definition_urls", "definitions", "definitions_dir", "definitions_used", "used_urls"]

JSON = dict[str, Any]
# Dependencies first, so that a server that checks references on write accepts each one (a ValueSet names its
# CodeSystem, a StructureDefinition binds a ValueSet).
_ORDER = {"CodeSystem": 0, "ValueSet": 1, "StructureDefinition": 2}


def definitions_dir(release: FhirRelease | str = FhirRelease.R5) -> Path:
    """The folder holding the definition files of ``release`` (``mappings/definitions/R5``)."""
    return mappings_dir() / "definitions" / FhirRelease.parse(release).value


@cache
def _definitions(release: FhirRelease) -> tuple[JSON, ...]:
    files = sorted(definitions_dir(release).glob("*.json"))
    loaded = [orjson.loads(p.read_bytes()) for p in files]
    return tuple(sorted(loaded, key=lambda r: (_ORDER.get(r["resourceType"], 3), r["id"])))


def definitions(release: FhirRelease | str = FhirRelease.R5) -> list[JSON]:
    """Every published definition of ``release``: CodeSystems, then ValueSets, then StructureDefinitions (copies)."""
    return [orjson.loads(orjson.dumps(r)) for r in _definitions(FhirRelease.parse(release))]


def definition_urls(release: FhirRelease | str = FhirRelease.R5) -> frozenset[str]:
    """The canonical URLs of every published definition of ``release``."""
    return frozenset(str(r["url"]) for r in _definitions(FhirRelease.parse(release)))


def _collect(node: Any, out: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("extension", "modifierExtension") and isinstance(value, list):
                out.update(str(e["url"]) for e in value if isinstance(e, dict) and "://" in str(e.get("url", "")))
            elif key == "system" and isinstance(value, str) and "code" in node:
                out.add(value)
            _collect(value, out)
    elif isinstance(node, list):
        for item in node:
            _collect(item, out)


def used_urls(resource: JSON) -> set[str]:
    """Every absolute extension URL and every code system (a ``system`` beside a ``code``) in ``resource``."""
    out: set[str] = set()
    _collect(resource, out)
    return out


def definitions_used(resources: Iterable[JSON], release: FhirRelease | str = FhirRelease.R5) -> list[JSON]:
    """The published definitions that ``resources`` use, with the ValueSets their extensions bind and the CodeSystems
    of those ValueSets; CodeSystems first, then ValueSets, then StructureDefinitions."""
    by_url = {str(r["url"]): r for r in _definitions(FhirRelease.parse(release))}
    wanted: set[str] = set()
    for resource in resources:
        wanted |= used_urls(resource) & by_url.keys()
    for url in list(wanted):  # an extension's bound ValueSets, and the CodeSystem of each ValueSet
        for element in by_url[url].get("differential", {}).get("element", []):
            bound = element.get("binding", {}).get("valueSet")
            if bound in by_url:
                wanted.add(bound)
    for url in list(wanted):
        if by_url[url]["resourceType"] == "ValueSet":
            wanted.update(i["system"] for i in by_url[url]["compose"]["include"] if i.get("system") in by_url)
        elif by_url[url]["resourceType"] == "CodeSystem" and by_url[url].get("valueSet") in by_url:
            wanted.add(by_url[url]["valueSet"])
    return [orjson.loads(orjson.dumps(r)) for r in _definitions(FhirRelease.parse(release)) if r["url"] in wanted]
