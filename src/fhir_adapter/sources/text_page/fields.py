"""Section handlers of a trial page's one-value fields (status, phase, enrollment, dates, design, eligibility).

Each handler reads what it understands of a section into the page's Trial and returns the lines it could not use
(see ``text_page/__init__.py``). Coded values are checked against the ClinicalTrials.gov API v2 enums of
``mappings/ctgov-enums.json`` and legacy wording is read with ``mappings/ctgov-<axis>.conceptmap.json`` (group 2),
both through ``fhir_adapter.terminology``.
"""

from __future__ import annotations

import re

from fhir_adapter.model import AgeLimit, DateInfo
from fhir_adapter.sources.criteria import split_criteria
from fhir_adapter.sources.fields import HEALTHY_YES, yes_no
from fhir_adapter.sources.text_page.page import NCT, Handler, Page, Section, token
from fhir_adapter.sources.wording import number, parse_page_age
from fhir_adapter.terminology import enum_values, normalize

_CONDITIONS_N = re.compile(r"Conditions(\d*)", re.IGNORECASE)
_PHASE_SEPARATORS = re.compile(r"[,/&]|\band\b")
_PHASE_N = re.compile(r"^PHASE_(\d)$")
_ENROLLMENT = re.compile(r"([\d,]+)(?:\s+participants?)?\s*(?:\(?(actual|estimated|anticipated)\)?)?", re.IGNORECASE)
_DATE = re.compile(r"(\d{4}(?:-\d{2}(?:-\d{2})?)?)\s*(?:\(?(actual|estimated|anticipated|expected)\)?)?", re.IGNORECASE)
_AGE_RANGE = re.compile(r"\b(?:between|aged|ages?)\s+(\d{1,3})\s*(?:and|to|-|–)\s*(\d{1,3})\s+years?\b", re.IGNORECASE)
# Page wording of the results section (not a registry enum).
_NO_RESULTS = ("results pending", "no results posted", "no results available")
_RESULTS = ("results available", "results posted")


def results(page: Page, sec: Section) -> list[str]:
    left = []
    for line in sec.texts:
        if line.lower() in _NO_RESULTS:
            page.trial.has_results = False
        elif line.lower() in _RESULTS:
            page.trial.has_results = True
        else:
            left.append(line)
    return left


def status(page: Page, sec: Section) -> list[str]:
    value, left = page.single(sec)
    if value is not None:
        code = token(value)
        if code not in enum_values("overall-status"):
            page.warn(sec.label, f"unknown recruitment status {value!r}, kept as given", "code-invalid")
            code = value
        page.trial.overall_status = code
    return left


def phase(page: Page, sec: Section) -> list[str]:
    value, left = page.single(sec)
    if value is not None:
        if token(value) in ("NA", "N_A", "NOT_APPLICABLE"):
            parts = ["NA"]
        else:
            parts = [token(p) for p in _PHASE_SEPARATORS.split(value) if p.strip()]
        for p in parts:
            code = {"EARLY_PHASE_1": "EARLY_PHASE1"}.get(p, _PHASE_N.sub(r"PHASE\1", p))
            if code not in enum_values("phase"):
                page.warn(sec.label, f"unknown phase {p!r}, kept as given", "code-invalid")
            if code not in page.trial.phases:
                page.trial.phases.append(code)
    return left


def _date_type(kind: str) -> str:
    """The date-type token of a page's "(actual)" / "(estimated)" / "(anticipated)" (by the date-type ConceptMap's
    group 2) or "(expected)" (page wording for an estimate)."""
    return normalize("date-type", kind) or "ESTIMATED"


def enrollment(page: Page, sec: Section) -> list[str]:
    value, left = page.single(sec)
    if value is not None:
        m = _ENROLLMENT.fullmatch(value)
        if m is None:
            return [value, *left]
        page.trial.enrollment_count = int(m.group(1).replace(",", ""))
        if m.group(2):
            page.trial.enrollment_type = _date_type(m.group(2))
    return left


def study_type(page: Page, sec: Section) -> list[str]:
    value, left = page.single(sec)
    if value is not None:
        page.trial.study_type = token(value)
    return left


def parse_date(value: str) -> DateInfo | None:
    """``"2025-11-30"``, ``"2025-11 (estimated)"`` -> ``DateInfo``; anything else -> None."""
    m = _DATE.fullmatch(value.strip())
    if m is None:
        return None
    kind = m.group(2)
    return DateInfo(m.group(1), None if kind is None else _date_type(kind))


def date_field(attr: str) -> Handler:
    def handle(page: Page, sec: Section) -> list[str]:
        value, left = page.single(sec)
        if value is not None:
            d = parse_date(value)
            if d is None:
                return [value, *left]
            setattr(page.trial, attr, d)
        return left

    return handle


def text_field(attr: str) -> Handler:
    def handle(page: Page, sec: Section) -> list[str]:
        if sec.texts:
            setattr(page.trial, attr, "\n\n".join(sec.texts))
        return []

    return handle


def list_field(attr: str) -> Handler:
    def handle(page: Page, sec: Section) -> list[str]:
        target: list[str] = getattr(page.trial, attr)
        target.extend(sec.texts)
        return []

    return handle


def is_conditions_n(label: str) -> bool:
    """True for a layout-B conditions label with its count ("Conditions2"), or without one in another case."""
    return _CONDITIONS_N.fullmatch(label) is not None and label.lower() != "conditions"


def is_conditions_label(line: str) -> bool:
    """True for a line that opens a conditions section ("Conditions", "Conditions2")."""
    return _CONDITIONS_N.fullmatch(line) is not None


def conditions_n(page: Page, sec: Section) -> list[str]:
    m = _CONDITIONS_N.fullmatch(sec.label)
    announced = int(m.group(1)) if m and m.group(1) else None
    names = [x for x in sec.texts if not (NCT.fullmatch(x) and x == page.trial.nct_id)]
    page.trial.conditions.extend(names)
    if announced is not None and len(names) != announced:
        listed = "none" if not names else str(len(names))
        page.warn(sec.label, f"the page announces {announced} conditions but lists {listed}", "incomplete")
    return []


def design_field(attr: str) -> Handler:
    def handle(page: Page, sec: Section) -> list[str]:
        value, left = page.single(sec)
        if value is not None:
            setattr(page.trial.design, attr, token(value))
        return left

    return handle


def eligibility(page: Page, sec: Section) -> list[str]:
    if not sec.lines:
        return []
    first, last = sec.lines[0][0], sec.lines[-1][0]
    block = "\n".join(page.raw[first : last + 1]).strip()
    el = page.trial.eligibility
    el.criteria_text = block
    criteria, issues = split_criteria(block, location="Eligibility Criteria")
    el.criteria = criteria
    page.issues.extend(issues)
    return []


def age_field(attr: str) -> Handler:
    def handle(page: Page, sec: Section) -> list[str]:
        value, left = page.single(sec)
        if value is not None:
            age = parse_page_age(value)
            if age is None and value.strip().upper() not in ("N/A", "NA"):
                return [value, *left]
            setattr(page.trial.eligibility, attr, age)
        return left

    return handle


def sex(page: Page, sec: Section) -> list[str]:
    value, left = page.single(sec)
    if value is not None:
        # legacy wording ("Both") by the sex ConceptMap's group 2; anything else as its token
        page.trial.eligibility.sex = normalize("sex", value) or token(value)
    return left


def volunteers(page: Page, sec: Section) -> list[str]:
    value, left = page.single(sec)
    if value is not None:
        accepts = yes_no(value, HEALTHY_YES)
        if accepts is None:
            return [value, *left]
        page.trial.eligibility.healthy_volunteers = accepts
    return left


def age_from_criteria(page: Page) -> None:
    """Age limits from an inclusion criterion ("between 18 and 75 years") when the page states no age fields."""
    el = page.trial.eligibility
    if el.minimum_age is not None or el.maximum_age is not None:
        return
    for index, crit in enumerate(el.criteria):
        if crit.exclude:
            continue
        m = _AGE_RANGE.search(crit.text)
        if m is None:
            continue
        el.minimum_age = AgeLimit(number(m.group(1)), "years")
        el.maximum_age = AgeLimit(number(m.group(2)), "years")
        page.info(
            f"Eligibility Criteria[{index}]",
            f"age limits {m.group(1)}-{m.group(2)} years read from the criterion text: the page states no age fields",
        )
        return
