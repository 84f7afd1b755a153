"""Trial bundles back to Trials: ``from_bundle`` (and ``fhir_release``, which tells R4 from R5).

https://hl7.org/fhir/R5/bundle.html. Resolves references inside the bundle by fullUrl, ``Type/id``, an absolute URL
ending in ``Type/id`` or a canonical ``url``; R4 studies are lifted back to the R5 shape first
(``fhir.r4.convert.from_research_study``).
"""

from __future__ import annotations

from typing import Any

from fhir_adapter.errors import MappingError
from fhir_adapter.fhir.common import JSON
from fhir_adapter.fhir.r4 import convert as r4_convert
from fhir_adapter.fhir.r4 import research_study as r4_research_study
from fhir_adapter.fhir.r5.research_study import from_research_study
from fhir_adapter.model import Trial
from fhir_adapter.release import FhirRelease


def _release(fhir_version: FhirRelease | str) -> FhirRelease:
    """``fhir_version`` as a FhirRelease (``"R4"``, ``"r5"`` or the enum); MappingError for another release."""
    try:
        return FhirRelease.parse(fhir_version)
    except ValueError as exc:
        raise MappingError(str(exc)) from None


class _Index:
    """Finds bundle entries by fullUrl, ``Type/id``, an absolute URL ending in ``Type/id`` or, for definitional
    resources, their canonical ``url`` (a PlanDefinition action's ``definitionCanonical`` -> its
    ActivityDefinition)."""

    def __init__(self, bundle: JSON) -> None:
        self.by_ref: dict[str, JSON] = {}
        for e in bundle.get("entry", []):
            r = e.get("resource")
            if not isinstance(r, dict):
                continue
            if e.get("fullUrl"):
                self.by_ref[e["fullUrl"]] = r
            if r.get("id") and r.get("resourceType"):
                self.by_ref[f"{r['resourceType']}/{r['id']}"] = r
            if isinstance(r.get("url"), str) and r["url"]:
                self.by_ref.setdefault(r["url"], r)

    def __call__(self, ref: JSON | None) -> JSON | None:
        if not ref or not isinstance(ref.get("reference"), str):
            return None
        target: str = ref["reference"]
        if target in self.by_ref:
            return self.by_ref[target]
        tail = "/".join(target.split("/_history")[0].split("/")[-2:])
        return self.by_ref.get(tail)


def fhir_release(study: dict[str, Any]) -> FhirRelease:
    """The release of a ResearchStudy (``FhirRelease.R4`` or ``.R5``, equal to ``"R4"``, ``"R5"``), told by its
    elements (no marker needed).

    An R4 study has R4-only elements (``enrollment`` always, as fhir-adapter writes it; ``arm``, ``objective``,
    ``sponsor``, ``category`` ...), an R4-only status code or R5-element extensions; an R5 study has R5-only elements
    (``progressStatus``, ``recruitment``, ``comparisonGroup`` ...). See ``fhir.r4.research_study.release_of``."""
    return r4_research_study.release_of(study)


def from_bundle(bundle: dict[str, Any], fhir_version: FhirRelease | str | None = None) -> Trial:
    """The Trial a bundle of ``to_bundle`` (or one pulled back from a server) describes.

    The release (R4 or R5) is detected from the ResearchStudy (``fhir_release``) unless ``fhir_version`` says it."""
    if bundle.get("resourceType") != "Bundle":
        raise MappingError("not a Bundle", field="resourceType")
    studies = [
        e["resource"]
        for e in bundle.get("entry", [])
        if isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == "ResearchStudy"
    ]
    if len(studies) != 1:
        raise MappingError(
            f"a trial bundle holds exactly one ResearchStudy, found {len(studies)}", field="Bundle.entry"
        )
    release = _release(fhir_version) if fhir_version else fhir_release(studies[0])
    if release is FhirRelease.R4:
        return r4_convert.from_research_study(studies[0], _Index(bundle))
    return from_research_study(studies[0], _Index(bundle))
