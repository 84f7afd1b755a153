"""EvidenceVariable (R5) for eligibility criteria, outcome measures and intended exposures, both ways.

https://hl7.org/fhir/R5/evidencevariable.html

Eligibility: one characteristic per criterion in source order (``exclude``: what the item means, relative to the
item holding it; nested items as ``definitionByCombination`` all-of / any-of as the text says), the verbatim text in
``description``, the computable content of the item (``Criterion.definition``) on the same characteristic
(:mod:`.criterion_atoms`); age and sex as computable ``definitionByTypeAndValue``. Facts that are not criteria go
in our own extensions on the EvidenceVariable, never in ``category`` (R5: "a grouping for ordinal or polychotomous
variables", https://hl7.org/fhir/R5/evidencevariable-definitions.html#EvidenceVariable.category): ``healthy-volunteers``
and ``gender-based`` (valueBoolean), ``gender-description``, ``study-population`` and ``sampling-method``
(valueString), ``std-age`` (valueCodeableConcept, one per standard age group: ct.gov derives them from the age limits,
so as characteristics they would restate the age criterion) and ``eligible-sex`` (valueCodeableConcept) for a sex
value that restricts nothing (ALL: no characteristic, which a matcher would have to evaluate). Bundles written
before issue 11 carry them as ``category`` entries: still read.

Exposures (one per intervention, ``ResearchStudy.comparisonGroup.intendedExposure`` and ``focus``): one
characteristic, linkId ``intervention``, ``definitionCodeableConcept`` the intervention as named (text: no code table
for interventions), ``description`` its name; the intervention type (ct.gov InterventionType coding, not a translation
of the name, so not a coding of that concept) in the extension ``intervention-type``, other names in
``intervention-other-name`` and the registry's arm group labels in ``arm-group-label`` (valueString each; the link
itself is ``intendedExposure``, which also follows the arms' intervention names, so the labels are kept verbatim for
the exact round trip). Old bundles: the same in ``category``, still read.

Outcomes: one EvidenceVariable each; its characteristic ``measure`` holds the time frame as ``timeFromEvent``
entries, one per time point or span that :mod:`fhir_adapter.computable.timeframe` reads in the text (the event as
``eventCodeableConcept``, a point as ``quantity``, a span as ``range``, UCUM time units); the first entry's
``description`` is the time frame verbatim (alone when the text is unclear). An outcome without a time frame gets
the one point its name states ("6-month progression free survival rate (PFS6)"), without description.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fhir_adapter import terminology
from fhir_adapter.computable.timeframe import measure_time_points, time_points
from fhir_adapter.errors import MappingError
from fhir_adapter.fhir.common import (
    JSON,
    Context,
    coded,
    compact,
    ext_url,
    extension,
    text_cc,
    token_of,
    tokens_of,
)
from fhir_adapter.fhir.r5.criterion_atoms import concept_cc, definition_elements, definition_of, is_member
from fhir_adapter.model import AgeLimit, Criterion, Eligibility, Intervention, Outcome, TimeWindow

# UCUM codes of the age units (https://ucum.org); "a" is the UCUM year.
_UCUM_AGE = {"years": "a", "months": "mo", "weeks": "wk", "days": "d", "hours": "h", "minutes": "min"}
_AGE_UNIT = {v: k for k, v in _UCUM_AGE.items()}
# LOINC concepts of the computable characteristics (https://loinc.org/30525-0, https://loinc.org/46098-0).
_AGE = ("30525-0", "Age")
_SEX = ("46098-0", "Sex")
# Eligibility facts that are not criteria (extension name -> Eligibility attribute), both ways: yes/no facts as
# valueBoolean, free-text facts as valueString. Bundles before issue 11: EvidenceVariable.category entries of the same
# names (yes/no as a yes-no coding, text as CodeableConcept.text), still read.
_YES_NO_CATEGORIES = {"healthy-volunteers": "healthy_volunteers", "gender-based": "gender_based"}
_TEXT_CATEGORIES = {
    "gender-description": "gender_description",
    "study-population": "study_population",
    "sampling-method": "sampling_method",
}
_STD_AGE, _ELIGIBLE_SEX = "std-age", "eligible-sex"
# The exposure's characteristic and extensions (see the module docstring).
_INTERVENTION = "intervention"
_INTERVENTION_TYPE, _OTHER_NAME, _ARM_LABEL = "intervention-type", "intervention-other-name", "arm-group-label"


def _loinc(concept: tuple[str, str]) -> JSON:
    return {"coding": [{"system": terminology.system("loinc"), "code": concept[0], "display": concept[1]}]}


def _age_quantity(age: AgeLimit) -> JSON:
    """An age limit as a Quantity, without empty elements (the unit is a key of ``_UCUM_AGE``)."""
    return compact(value=age.value, unit=age.unit, system=terminology.system("ucum"), code=_UCUM_AGE[age.unit])


def _age_limit(q: JSON | None) -> AgeLimit | None:
    if not q or "value" not in q:
        return None
    value = q["value"]
    return AgeLimit(
        value=int(value) if float(value).is_integer() else value, unit=_AGE_UNIT.get(q.get("code", ""), "years")
    )


def _criterion(c: Criterion, link_id: str) -> JSON:
    """One criterion as a characteristic: ``exclude`` is its polarity (relative to the item holding it), its
    sub-items a ``definitionByCombination`` combined as the text says (all-of / any-of), or its own computable
    content (an item has one or the other: the model's rule). Built without empty elements (an empty text left out,
    the definition's parts built clean: ``criterion_atoms``), as ``prune`` would leave it."""
    out: JSON = {"linkId": link_id, "description": c.text} if c.text else {"linkId": link_id}
    if c.exclude:
        out["exclude"] = True
    if c.children and c.definition is not None:
        raise MappingError(f"criterion {link_id} has both sub-items and a definition", field="eligibility.criteria")
    if c.definition is not None:
        out.update(definition_elements(c.definition))
    if c.children:
        out["definitionByCombination"] = compact(
            code=c.combine,
            characteristic=[_criterion(k, f"{link_id}.{i}") for i, k in enumerate(c.children, 1)],
        )
    return out


def _from_criterion(ch: JSON, heading_exclude: bool | None = None) -> Criterion:
    combination = ch.get("definitionByCombination") or {}
    exclude = bool(ch.get("exclude"))
    definition = definition_of(ch)
    return Criterion(
        text=ch.get("description", ""),
        exclude=exclude,
        children=[_from_criterion(k) for k in combination.get("characteristic", []) if not is_member(k)],
        combine=combination.get("code", "all-of") if definition is None else "all-of",
        heading_exclude=heading_exclude if heading_exclude is not None and heading_exclude != exclude else None,
        definition=definition,
    )


def _facts(e: Eligibility, sex_characteristic: bool) -> list[JSON]:
    """The eligibility facts that are not criteria, as our extensions (``sex_characteristic``: the sex is a
    characteristic already)."""
    out: list[JSON] = []
    if e.sex and not sex_characteristic:
        out.append(extension(_ELIGIBLE_SEX, valueCodeableConcept=coded("sex", e.sex)))
    for name, attr in _YES_NO_CATEGORIES.items():
        if getattr(e, attr) is not None:
            out.append(extension(name, valueBoolean=getattr(e, attr)))
    for name, attr in _TEXT_CATEGORIES.items():
        if getattr(e, attr):
            out.append(extension(name, valueString=getattr(e, attr)))
    out.extend(extension(_STD_AGE, valueCodeableConcept=coded("std-age", a)) for a in e.std_ages)
    return out


def to_eligibility(ctx: Context, e: Eligibility, title: str) -> JSON:
    """Reference to the eligibility EvidenceVariable (``ResearchStudy.recruitment.eligibility``)."""
    chars: list[JSON] = []
    low, high = e.minimum_age, e.maximum_age
    # One Range when both bounds share a unit; two when they do not ("3 months" to "17 years"): rng-2 compares
    # low and high, and validators without UCUM conversion (HAPI offline) cannot compare across units.
    ranges = (
        [("age", low, high)]
        if not (low and high and low.unit != high.unit)
        else [("age", low, None), ("age-max", None, high)]
    )
    for link, lo, hi in ranges if low or high else []:
        bounds = "; ".join(f"{label} age {a.value} {a.unit}" for label, a in (("Minimum", lo), ("Maximum", hi)) if a)
        age_range = compact(low=_age_quantity(lo) if lo else None, high=_age_quantity(hi) if hi else None)
        chars.append(_typed(_AGE, link, bounds, "valueRange", age_range))
    gender = terminology.to_fhir("sex", e.sex) if e.sex else None
    if gender is not None:  # ALL has no code: no restriction, so no characteristic
        sex = f"Sex: {terminology.ctgov_display('sex', e.sex or '')}"
        chars.append(_typed(_SEX, "sex", sex, "valueCodeableConcept", coded("sex", e.sex)))
    counters = {False: 0, True: 0}
    criteria = []
    for c in e.criteria:
        # The linkId names the heading the item sat under (inc-/exc-), ``exclude`` what the item means.
        heading = c.exclude if c.heading_exclude is None else c.heading_exclude
        counters[heading] += 1
        criteria.append(_criterion(c, f"{'exc' if heading else 'inc'}-{counters[heading]}"))
    chars += criteria
    body = compact(
        extension=_facts(e, gender is not None),
        url=ctx.canonical("EvidenceVariable", "eligibility"),
        name=f"{ctx.nct_id}_eligibility".replace("-", "_"),
        title=f"Eligibility criteria: {title}",
        status="active",
        description=e.criteria_text,
        actual=False,
        characteristic=chars,
    )
    return ctx.add("EvidenceVariable", "eligibility", body, clean=True)  # built without empty elements


def _typed(concept: tuple[str, str], link: str, description: str, value_key: str, value: JSON | None) -> JSON:
    """An age or sex characteristic (``definitionByTypeAndValue`` of a LOINC concept), without empty elements (the
    non-empty ``description`` and ``value`` are built without them: an age range, ``coded``)."""
    definition: JSON = {"type": _loinc(concept)}
    if value:
        definition[value_key] = value
    return {"linkId": link, "description": description, "definitionByTypeAndValue": definition}


def _read_fact(e: Eligibility, ext: JSON) -> None:
    """Set the Eligibility attribute of one of our fact extensions (the way back of ``_facts``)."""
    url = ext.get("url")
    names = {ext_url(n): n for n in (*_YES_NO_CATEGORIES, *_TEXT_CATEGORIES, _STD_AGE, _ELIGIBLE_SEX)}
    name = names.get(str(url))
    if name in _YES_NO_CATEGORIES:
        setattr(e, _YES_NO_CATEGORIES[name], ext.get("valueBoolean"))
    elif name in _TEXT_CATEGORIES:
        setattr(e, _TEXT_CATEGORIES[name], ext.get("valueString"))
    elif name == _ELIGIBLE_SEX:
        e.sex = token_of("sex", ext.get("valueCodeableConcept"))
    elif name == _STD_AGE:
        e.std_ages.extend(tokens_of("std-age", ext.get("valueCodeableConcept")))


def _read_category(e: Eligibility, name: str | None, cc: JSON) -> None:
    """Set the Eligibility attribute of one ``category`` entry (bundles before issue 11)."""
    if name in _YES_NO_CATEGORIES:
        setattr(e, _YES_NO_CATEGORIES[name], any(c.get("code") == "Y" for c in cc.get("coding", [])))
    elif name in _TEXT_CATEGORIES:
        setattr(e, _TEXT_CATEGORIES[name], cc.get("text"))
    elif name == "sex":
        e.sex = token_of("sex", cc)
    elif name == "std-age":
        e.std_ages.extend(tokens_of("std-age", cc))


def from_eligibility(ev: JSON | None) -> Eligibility:
    """The Eligibility an eligibility EvidenceVariable (of :func:`to_eligibility`) describes; empty for None."""
    e = Eligibility()
    if not ev:
        return e
    e.criteria_text = ev.get("description")
    for ch in ev.get("characteristic", []):
        link = str(ch.get("linkId", ""))
        if link in ("age", "age-max"):
            rng = (ch.get("definitionByTypeAndValue") or {}).get("valueRange") or {}
            e.minimum_age = _age_limit(rng.get("low")) or e.minimum_age
            e.maximum_age = _age_limit(rng.get("high")) or e.maximum_age
        elif link == "sex":
            e.sex = token_of("sex", (ch.get("definitionByTypeAndValue") or {}).get("valueCodeableConcept"))
        elif link.startswith(("inc-", "exc-")):
            e.criteria.append(_from_criterion(ch, heading_exclude=link.startswith("exc-")))
    for ext in ev.get("extension", []):
        _read_fact(e, ext)
    for cat in ev.get("category", []):
        _read_category(e, cat.get("name"), cat.get("valueCodeableConcept") or {})
    return e


def _duration(value: int | float, unit: str) -> JSON:
    # a whole number as an integer: servers answer "6" for "6.0" (see criterion_atoms._number)
    number = int(value) if float(value).is_integer() else value
    return compact(value=number, system=terminology.system("ucum"), code=unit)


def _time_from_event(w: TimeWindow) -> JSON:
    """One time point (``quantity``) or span (``range``) of a time frame, from the event the text names; built without
    empty elements (an event with no code or text, an empty unit, a range with no bound left out: {} when nothing is
    left)."""
    event = concept_cc(w.event) if w.event.codes or w.event.text else None
    if w.low is not None and w.low == w.high:
        return compact(eventCodeableConcept=event, quantity=_duration(w.low, w.unit))
    bounds = {"low": w.low, "high": w.high}
    return compact(
        eventCodeableConcept=event,
        range={k: _duration(v, w.unit) for k, v in bounds.items() if v is not None},
    )


@lru_cache(maxsize=4096)  # the registry repeats its time frames ("Baseline", "12 weeks", "Up to 2 years") across trials
def _time_windows(time_frame: str) -> tuple[TimeWindow, ...]:
    """``time_points`` of a time frame (a function of the text alone, parsed once per run). The windows are only read
    (``_time_from_event`` builds fresh elements from them), so one parse serves every outcome with that text."""
    return tuple(time_points(time_frame))


def time_frame_elements(o: Outcome) -> list[JSON]:
    """The ``timeFromEvent`` entries of an outcome: its time frame's points (the first entry also carrying the
    verbatim text), else the one point its name states; without empty elements."""
    points = _time_windows(o.time_frame) if o.time_frame else measure_time_points(o.measure)
    entries = [_time_from_event(w) for w in points]
    if o.time_frame:
        entries[:1] = [{"description": o.time_frame, **(entries[0] if entries else {})}]
    return [e for e in entries if e]  # a point with nothing left (no event, no bound) is dropped, as prune did


def to_outcome(ctx: Context, index: int, o: Outcome) -> JSON:
    """Reference to the EvidenceVariable of one outcome measure (``ResearchStudy.outcomeMeasure.reference``)."""
    key = f"outcome-{index}"
    measure = compact(linkId="measure", description=o.measure, timeFromEvent=time_frame_elements(o))  # clean
    body = compact(
        url=ctx.canonical("EvidenceVariable", key),
        title=o.measure,
        status="active",
        description=o.description,
        characteristic=[measure],
    )
    return ctx.add("EvidenceVariable", key, body, clean=True)  # built without empty elements


def from_outcome(measure: JSON, ev: JSON | None) -> Outcome:
    types = measure.get("type") or [None]
    o = Outcome(
        measure=measure.get("name") or (ev or {}).get("title", ""),
        type=token_of("outcome-type", types[0]) or "PRIMARY",
        description=measure.get("description") or (ev or {}).get("description"),
    )
    for ch in (ev or {}).get("characteristic", []):
        entries = ch.get("timeFromEvent") or [{}]
        o.time_frame = entries[0].get("description") or o.time_frame  # the verbatim text; the points follow from it
    return o


def intervention_key(i: Intervention) -> str:
    return f"{i.type or 'OTHER'}: {i.name}"


def to_exposure(ctx: Context, index: int, i: Intervention) -> JSON:
    """Reference to the EvidenceVariable of one intervention (``comparisonGroup.intendedExposure``)."""
    key = f"intervention-{index}"
    kind = coded("intervention-type", i.type)
    exts: list[Any] = [extension(_INTERVENTION_TYPE, valueCodeableConcept=kind)] if kind else []  # coded: clean
    exts += [_text_extension(_OTHER_NAME, n) for n in i.other_names]
    exts += [_text_extension(_ARM_LABEL, a) for a in i.arm_labels]
    characteristic = {"linkId": _INTERVENTION, "description": i.name, "definitionCodeableConcept": text_cc(i.name)}
    body = compact(
        extension=exts,
        url=ctx.canonical("EvidenceVariable", key),
        title=i.name,
        status="active",
        description=i.description,
        characteristic=[characteristic] if i.name else None,
    )
    return ctx.add("EvidenceVariable", key, body, clean=True)  # built without empty elements


def _text_extension(name: str, value: str | None) -> JSON:
    """``extension(name, valueString=value)`` without empty elements (an empty value leaves the url alone)."""
    return extension(name, valueString=value) if value else extension(name)


def intervention_type_of(ev: JSON) -> str | None:
    """The ct.gov InterventionType token of an exposure EvidenceVariable (our extension; before issue 11 its
    ``category`` entry)."""
    for ext in ev.get("extension", []):
        if ext.get("url") == ext_url(_INTERVENTION_TYPE):
            return token_of("intervention-type", ext.get("valueCodeableConcept"))
    kinds = [c for c in ev.get("category", []) if c.get("name") == _INTERVENTION_TYPE]
    return token_of("intervention-type", kinds[0].get("valueCodeableConcept")) if kinds else None


def from_exposure(ev: JSON) -> Intervention:
    i = Intervention(name=ev.get("title", ""), description=ev.get("description"), type=intervention_type_of(ev))
    for ext in ev.get("extension", []):
        if ext.get("url") == ext_url(_OTHER_NAME):
            i.other_names.append(ext.get("valueString", ""))
        elif ext.get("url") == ext_url(_ARM_LABEL):
            i.arm_labels.append(ext.get("valueString", ""))
    for cat in ev.get("category", []):
        cc = cat.get("valueCodeableConcept") or {}
        if cat.get("name") == "other-name":
            i.other_names.append(cc.get("text", ""))
        elif cat.get("name") == "arm-group-label":
            i.arm_labels.append(cc.get("text", ""))
    return i
