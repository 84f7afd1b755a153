"""Trial bundles back to Trials: ``from_bundle`` (and ``fhir_release``, which tells R4 from R5).

https://hl7.org/fhir/R5/bundle.html. Resolves references inside the bundle by fullUrl, ``Type/id``, an absolute URL
ending in ``Type/id``, a canonical ``url`` or, for ``#id``, a contained resource
(https://hl7.org/fhir/R5/references.html#contained); R4 studies are lifted back to the R5 shape first
(``fhir.r4.convert.from_research_study``).

Reads any writer's ResearchStudy, not only fhir-adapter's (docs/architecture.md, "Reading FHIR"): a bare
ResearchStudy, any Bundle type (a server's searchset included), HL7 codes without our extensions, contained
resources. A study fhir-adapter wrote goes through the mappers unchanged (round trips stay exact); any other goes
through ``fhir.foreign`` (aliases, reshaping, completion) and gets a warning in ``Trial.issues`` for what was not
understood (``fhir.foreign_issues``). A study without an NCT id is read with ``nct_id`` None, its identifiers kept
as the org study id / secondary ids (``fhir.foreign.study_key`` names it); ``to_bundle`` refuses such a Trial until
ids can be derived from another identifier.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.errors import MappingError
from fhir_adapter.fhir import foreign, foreign_issues
from fhir_adapter.fhir.common import JSON, Resolver, party_role
from fhir_adapter.fhir.r4 import convert as r4_convert
from fhir_adapter.fhir.r4 import research_study as r4_research_study
from fhir_adapter.fhir.r5.research_study import from_research_study
from fhir_adapter.issues import Issue
from fhir_adapter.model import Trial
from fhir_adapter.release import FhirRelease

_STUDY = "ResearchStudy"
# Elements a failing read may not leave out: without them there is nothing to name the study by.
_KEPT = frozenset({"resourceType", "id", "identifier", "title", "contained"})


def _release(fhir_version: FhirRelease | str) -> FhirRelease:
    """``fhir_version`` as a FhirRelease (``"R4"``, ``"r5"`` or the enum); MappingError for another release."""
    try:
        return FhirRelease.parse(fhir_version)
    except ValueError as exc:
        raise MappingError(str(exc)) from None


class _Index:
    """Finds bundle entries by fullUrl, ``Type/id``, an absolute URL ending in ``Type/id`` or, for definitional
    resources, their canonical ``url`` (a PlanDefinition action's ``definitionCanonical`` -> its
    ActivityDefinition); ``#id`` finds a contained resource (of the study first, then of the other entries)."""

    def __init__(self, bundle: JSON, study: JSON | None = None) -> None:
        self.by_ref: dict[str, JSON] = {}
        self.contained: dict[str, JSON] = {}
        entries = [e for e in bundle.get("entry", []) if isinstance(e, dict)]
        resources = [e.get("resource") for e in entries]
        for r in [study, *resources]:
            for c in (r or {}).get("contained", []) if isinstance(r, dict) else []:
                if isinstance(c, dict) and c.get("id"):
                    self.contained.setdefault(f"#{c['id']}", c)
        for e in entries:
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
        if target.startswith("#"):
            return self.contained.get(target)
        if target in self.by_ref:
            return self.by_ref[target]
        tail = "/".join(target.split("/_history")[0].split("/")[-2:])
        return self.by_ref.get(tail)


def fhir_release(study: dict[str, Any]) -> FhirRelease:
    """The release of a ResearchStudy (``FhirRelease.R4`` or ``.R5``, equal to ``"R4"``, ``"R5"``), told by its
    elements (no marker needed).

    An R5-only element (``progressStatus``, ``recruitment``, ``comparisonGroup`` ...) makes it R5 even beside an
    element R4 also has (the FEvIR converter's current output has R5's ``comparisonGroup`` and the R6 build's
    ``objective``); else an R4 study has R4-only elements (``enrollment`` always, as fhir-adapter writes it; ``arm``,
    ``objective``, ``sponsor``, ``category`` ...), an R4-only status code or R5-element extensions. See
    ``fhir.r4.research_study.release_of``."""
    if set(study) & terminology.release_only_elements(FhirRelease.R5):
        return FhirRelease.R5
    return r4_research_study.release_of(study)


def _as_bundle(data: dict[str, Any]) -> JSON:
    """``data`` if a Bundle; a bare ResearchStudy wrapped in a collection Bundle; MappingError otherwise."""
    kind = data.get("resourceType")
    if kind == "Bundle":
        return data
    if kind == _STUDY:
        return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": data}]}
    raise MappingError("not a Bundle (nor a ResearchStudy)", field="resourceType")


def _study_position(bundle: JSON) -> int:
    """The entry index of the bundle's one ResearchStudy: search matches before ``_include``-d ones, and a study
    that is ``partOf`` another (a site study) never the trial; MappingError unless exactly one is left."""
    entries = bundle.get("entry", [])
    found = [
        i
        for i, e in enumerate(entries)
        if isinstance(e, dict) and isinstance(e.get("resource"), dict) and e["resource"].get("resourceType") == _STUDY
    ]
    for keep in (
        lambda i: (entries[i].get("search") or {}).get("mode", "match") == "match",
        lambda i: not entries[i]["resource"].get("partOf"),
    ):
        if len(found) > 1:
            found = [i for i in found if keep(i)] or found
    if len(found) != 1:
        raise MappingError(f"a trial bundle holds exactly one ResearchStudy, found {len(found)}", field="Bundle.entry")
    return found[0]


def from_bundle(bundle: dict[str, Any], fhir_version: FhirRelease | str | None = None) -> Trial:
    """The Trial a bundle (or a bare ResearchStudy) describes: one of ``to_bundle``, one pulled back from a server,
    or any other writer's (``Trial.issues`` then warns of what was not understood).

    The release (R4 or R5) is detected from the ResearchStudy (``fhir_release``) unless ``fhir_version`` says it. A
    study that yields nothing at all is a MappingError naming it."""
    bundle = _as_bundle(bundle)
    at = _study_position(bundle)
    raw = bundle["entry"][at]["resource"]
    release = _release(fhir_version) if fhir_version else fhir_release(raw)
    if foreign.is_ours(raw):
        if release is FhirRelease.R4:
            return r4_convert.from_research_study(raw, _Index(bundle, raw))
        return from_research_study(raw, _Index(bundle, raw))
    bundle = foreign.canonical_systems(bundle)
    study = bundle["entry"][at]["resource"]
    index = _Index(bundle, study)
    t = _tolerant(lambda rs: _read_foreign(rs, index, release), study)
    lifted = foreign.lifted_elements(raw) if release is FhirRelease.R5 else frozenset()
    t.issues += foreign_issues.unresolved(study, index) + foreign_issues.unread_elements(raw, release, lifted)
    if foreign_issues.empty(t):
        name = bundle["entry"][at].get("fullUrl") or f"{_STUDY}/{raw.get('id', '?')}"
        raise MappingError("the study yields no title, no identifier and nothing else fhir-adapter reads", field=name)
    return t


def _read_foreign(study: JSON, index: _Index, release: FhirRelease) -> Trial:
    """A foreign study's Trial: R4 lifted to the R5 shape, then ``fhir.foreign.reading`` (with its warnings)."""
    resolve: Resolver = index
    rs = study
    if release is FhirRelease.R4:
        rs = _r4_parties(study, r4_research_study.lift(study), index)
        resolve = lambda ref: r4_convert.lift_resource(index(ref))  # noqa: E731 -- the R4 reader's own resolver
    return foreign.reading(from_research_study, rs, resolve)


def _r4_parties(study: JSON, rs5: JSON, index: _Index) -> JSON:
    """The lifted R4 study with R4's ``principalInvestigator`` and ``contact`` (ContactDetail: a name and contact
    points, https://hl7.org/fhir/R4/metadatatypes.html#ContactDetail) as R5 associatedParty entries, each contact as
    a contained Practitioner view in ``index`` (the R4 lift reads these only from fhir-adapter's extensions)."""
    parties = list(rs5.get("associatedParty", []))
    if isinstance(study.get("principalInvestigator"), dict):
        parties.append({"role": party_role("primary-investigator"), "party": study["principalInvestigator"]})
    for i, c in enumerate(study.get("contact", [])):
        if not isinstance(c, dict):
            continue
        key = f"#fhir-adapter-contact-{i}"
        index.contained[key] = {
            "resourceType": "Practitioner",
            "name": [{"text": c.get("name")}],
            "telecom": c.get("telecom", []),
        }
        parties.append({"name": c.get("name"), "role": party_role("general-contact"), "party": {"reference": key}})
    return {**rs5, "associatedParty": parties}


def _tolerant(read: Callable[[JSON], Trial], study: JSON) -> Trial:
    """``read(study)``; if a mapper fails on a foreign shape, the read without the element that makes it fail (each
    one alone first, then cumulatively), with a warning naming each element left out."""
    try:
        return read(study)
    except MappingError:
        raise
    except Exception as exc:
        first = exc
    names = [k for k in study if k not in _KEPT]
    for leave_out in [[n] for n in names] + [names[: i + 1] for i in range(len(names))]:
        try:
            t = read({k: v for k, v in study.items() if k not in leave_out})
        except MappingError:
            raise
        except Exception:
            continue
        t.issues += [
            Issue("warning", f"{_STUDY}.{n}", f"could not be read ({type(first).__name__}: {first}); left out")
            for n in leave_out
        ]
        return t
    raise MappingError(f"cannot be read ({type(first).__name__}: {first})", field=f"{_STUDY}/{study.get('id', '?')}")
