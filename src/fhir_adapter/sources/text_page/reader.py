"""A trial page cut into sections at its labels, each section read by its handler (see ``text_page/__init__.py``).

The section labels, the site chrome and the header lines below are the page's own wording, not registry codes.
"""

from __future__ import annotations

import re

from fhir_adapter.errors import SourceError
from fhir_adapter.model import Trial
from fhir_adapter.sources.text_page import arms, fields, parties, prose
from fhir_adapter.sources.text_page.page import NCT, Handler, Page, Section, is_blurb

# Labels a line must equal (case-insensitive) to open a section. "Conditions2" (layout B) is matched separately.
_LABELS = {
    label.lower(): label
    for label in (
        "Study Results",
        "Basic Information",
        "Recruitment Status",
        "Clinical Phase",
        "Total Enrollment",
        "Study Classification",
        "Study Start Date",
        "Primary Completion Date",
        "Study Completion Date",
        "Brief Summary",
        "Detailed Description",
        "Conditions",
        "Keywords",
        "Study Design",
        "Allocation Method",
        "Intervention Model",
        "Primary Study Purpose",
        "Blinding Strategy",
        "Study Groups",
        "Interventions",
        "Eligibility Criteria",
        "Minimum Eligible Age",
        "Maximum Eligible Age",
        "Eligible Sex",
        "Accepts Healthy Volunteers",
        "Sponsors",
        "Responsible Party",
        "Central Contacts",
        "Other Identifiers",
        "More Related Trials",
        "Browse More Trials",
        "Summary",
        "Eligibility",
    )
}
_CHROME = re.compile(
    r"^(?:Browse More Trials|More Related Trials"
    r"|Trial data from ClinicalTrials\.gov\b.*"
    r"|This site does not provide medical advice\b.*"
    r"|The study team has not published\b.*"
    r"|Check back later\b.*"
    r"|Additional clinical trials that may be relevant\b.*)$",
    re.IGNORECASE,
)
# Sections whose whole content is site chrome (related-trial lists of *other* trials).
_CHROME_SECTIONS = {"More Related Trials", "Browse More Trials"}
# Field lines. "<label>\s*(?::\s*)?" rather than "<label>\s*:?\s*": the same texts, but the latter tries every
# way of sharing a run of spaces between its two runs (quadratic on a long run that is not followed by a value).
_GLUED_CONDITIONS = re.compile(r"(?<=[.)\]])(Conditions\d*)[ \t]*$", re.MULTILINE)
_NCT_LINE = re.compile(r"NCT\s*ID\s*(?::\s*)?(NCT\d{8})", re.IGNORECASE)
_NCT_ONLY = re.compile(r"(NCT\d{8})")
_LAST_UPDATED = re.compile(r"Last Updated\s*(?::\s*)?(\S.*)", re.IGNORECASE)

# The handler of each section label (a section without one is kept in unmapped).
_HANDLERS: dict[str, Handler] = {
    "Study Results": fields.results,
    "Basic Information": lambda _page, sec: sec.texts,
    "Study Design": lambda _page, sec: sec.texts,
    "Recruitment Status": fields.status,
    "Clinical Phase": fields.phase,
    "Total Enrollment": fields.enrollment,
    "Study Classification": fields.study_type,
    "Study Start Date": fields.date_field("start_date"),
    "Primary Completion Date": fields.date_field("primary_completion_date"),
    "Study Completion Date": fields.date_field("completion_date"),
    "Brief Summary": fields.text_field("brief_summary"),
    "Summary": fields.text_field("brief_summary"),
    "Detailed Description": fields.text_field("detailed_description"),
    "Conditions": fields.list_field("conditions"),
    "Keywords": fields.list_field("keywords"),
    "Allocation Method": fields.design_field("allocation"),
    "Intervention Model": fields.design_field("intervention_model"),
    "Primary Study Purpose": fields.design_field("primary_purpose"),
    "Blinding Strategy": fields.design_field("masking"),
    "Study Groups": arms.groups,
    "Interventions": arms.interventions,
    "Eligibility Criteria": fields.eligibility,
    "Eligibility": fields.eligibility,
    "Minimum Eligible Age": fields.age_field("minimum_age"),
    "Maximum Eligible Age": fields.age_field("maximum_age"),
    "Eligible Sex": fields.sex,
    "Accepts Healthy Volunteers": fields.volunteers,
    "Sponsors": parties.sponsors,
    "Responsible Party": parties.responsible,
    "Central Contacts": parties.contacts,
    "Other Identifiers": parties.identifiers,
}


def looks_like_text_page(text: str) -> bool:
    """True for plain text (not JSON or XML) that contains an NCT id."""
    first = text.lstrip()[:1]
    return first not in ("{", "[", "<") and NCT.search(text) is not None


def _sections(page: Page) -> tuple[list[tuple[int, str]], list[Section]]:
    """The lines before the first label (index, line), and the sections; blank lines and site chrome left out."""
    preamble: list[tuple[int, str]] = []
    sections: list[Section] = []
    for i, raw in enumerate(page.raw):
        line = raw.strip()
        if not line:
            continue
        label = _LABELS.get(line.lower())
        if label is None and fields.is_conditions_label(line):
            label = line
        if label is not None:
            sections.append(Section(label))
            continue
        if _CHROME.match(line):
            continue
        if sections:
            sections[-1].lines.append((i, line))
        else:
            preamble.append((i, line))
    return preamble, sections


def _read_header(page: Page, preamble: list[tuple[int, str]]) -> None:
    """NCT id, title and "Last Updated" from the lines before the first section; the rest is kept in unmapped."""
    t = page.trial
    nct_line = None
    for i, line in preamble:
        m = _NCT_LINE.fullmatch(line) or _NCT_ONLY.fullmatch(line)
        if m is not None and t.nct_id is None:
            t.nct_id, nct_line = m.group(1), i
    if t.nct_id is None:
        m2 = NCT.search("\n".join(line for _, line in preamble))
        if m2 is None:
            raise SourceError("no NCT id found", path=page.path, field="NCT ID")
        t.nct_id = m2.group(0)
    rest: list[str] = []
    for i, line in preamble:
        if i == nct_line:
            continue
        if t.brief_title is None and not NCT.fullmatch(line):
            t.brief_title = line
            continue
        m3 = _LAST_UPDATED.fullmatch(line)
        if m3 is not None:
            t.last_update_posted_date = fields.parse_date(m3.group(1))
            continue
        rest.append(line)
    page.unmapped("page header", rest)


def _read_section(page: Page, sec: Section) -> None:
    if sec.label in _CHROME_SECTIONS:
        return
    if sec.lines and is_blurb(sec.lines[0][1]):
        sec.lines = sec.lines[1:]
    if fields.is_conditions_n(sec.label):
        left = fields.conditions_n(page, sec)
    else:
        handler = _HANDLERS.get(sec.label)
        left = handler(page, sec) if handler else sec.texts
    page.unmapped(sec.label, left)


def read_text_page(text: str, path: str = "<memory>") -> Trial:
    """Read one plain-text trial page into a Trial. Raises ``SourceError`` when the page has no NCT id."""
    # layout B glues the conditions label to the last criterion: "... study results.Conditions2"
    page = Page(_GLUED_CONDITIONS.sub(r"\n\1", text), path)
    preamble, sections = _sections(page)
    _read_header(page, preamble)
    for sec in sections:
        _read_section(page, sec)
    page.trial.unmapped.update((key, "\n".join(lines)) for key, lines in page.left.items())
    arms.link_arms(page)
    prose.fill_outcomes(page)
    fields.age_from_criteria(page)
    return page.trial
