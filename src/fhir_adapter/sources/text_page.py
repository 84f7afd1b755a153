"""Reader for plain-text trial pages (a trial web page saved as text).

Two layouts are known (see ``seeds/``):

* layout A: title, ``NCT ID: NCT...``, ``Last Updated: ...``, then labelled sections ("Basic Information",
  "Recruitment Status", "Clinical Phase", ... "Other Identifiers"), most sections opening with a one-sentence
  blurb of the site ("Get a concise snapshot of the trial ...");
* layout B: title, NCT id line, "Summary", "Eligibility", "Conditions<N>" (sometimes glued to the last criterion)
  and site footer lines.

The page is cut into sections at the known labels (a line that is exactly a label). Each section's handler takes
what it understands; anything left over (an unknown label and its text, a line a handler cannot place) goes to
``Trial.unmapped`` with a ``warning`` issue located at the label. Site chrome is recognised and never stored:
the one-sentence blurb right after a section label (a sentence opening with a verb of the site's voice: "Get",
"Review", "Dive", "See", "Understand", "Learn", "Check", "Meet", "Identify", "Reach", "Additional clinical
trials ...") and known footer lines ("Browse More Trials", "This site does not provide medical advice ...").
Nothing is invented: a field the page does not state stays None/empty.

Endpoints written in prose become ``Outcome``s (rules in ``_prose_outcomes``) with verbatim measure texts.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from fhir_adapter.errors import SourceError
from fhir_adapter.issues import Issue
from fhir_adapter.model import (
    AgeLimit,
    Arm,
    Contact,
    DateInfo,
    Intervention,
    Organization,
    Outcome,
    ResponsibleParty,
    SecondaryId,
    Source,
    Trial,
)
from fhir_adapter.sources.criteria import split_criteria

__all__ = ["looks_like_text_page", "read_text_page"]

_NCT = re.compile(r"\bNCT\d{8}\b")

_STATUSES = {
    "NOT_YET_RECRUITING",
    "RECRUITING",
    "ENROLLING_BY_INVITATION",
    "ACTIVE_NOT_RECRUITING",
    "SUSPENDED",
    "TERMINATED",
    "COMPLETED",
    "WITHDRAWN",
    "UNKNOWN",
    "AVAILABLE",
    "NO_LONGER_AVAILABLE",
    "TEMPORARILY_NOT_AVAILABLE",
    "APPROVED_FOR_MARKETING",
    "WITHHELD",
}
_PHASES = {"NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4"}
_AGENCY_CLASSES = {"NIH", "FED", "OTHER_GOV", "INDIV", "INDUSTRY", "NETWORK", "AMBIG", "OTHER", "UNKNOWN"}
_AGE_UNITS = {"year": "years", "month": "months", "week": "weeks", "day": "days", "hour": "hours", "minute": "minutes"}

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
_CONDITIONS_N = re.compile(r"Conditions(\d*)", re.IGNORECASE)
_BLURB_VERBS = {
    "get",
    "review",
    "dive",
    "see",
    "understand",
    "learn",
    "check",
    "meet",
    "identify",
    "reach",
    "explore",
    "find",
    "discover",
    "browse",
    "view",
    "read",
    "additional",
    "track",
    "compare",
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
_PHASE_SEPARATORS = re.compile(r"[,/&]|\band\b")
_PHASE_N = re.compile(r"^PHASE_(\d)$")
_ENROLLMENT = re.compile(r"([\d,]+)(?:\s+participants?)?\s*(?:\(?(actual|estimated|anticipated)\)?)?", re.IGNORECASE)
_GROUP_TYPE = re.compile(r"Group Type\s*(?::\s*)?(\S+)")
_INTERVENTION_TYPE = re.compile(r"Intervention Type\s*(?::\s*)?(\S+)")
_SPONSOR_ROLE = re.compile(r"Sponsor Role\s*(?::\s*)?(\S+)", re.IGNORECASE)
_RESPONSIBILITY_ROLE = re.compile(r"Responsibility Role\s*(?::\s*)?(\S+)", re.IGNORECASE)
_CONTACT_ROLE = re.compile(r"Role\s*:\s*(\S+)", re.IGNORECASE)
_PHONE = re.compile(r"(\+?[\d][\d\s().-]{4,}\d)(?:\s*(?:ext\.?|x|extension)\s*(?::\s*)?(\d+))?", re.IGNORECASE)
_IDENTIFIER_FIELD = re.compile(r"Identifier (Type|Source|Domain|Link)\s*:\s*(.*)", re.IGNORECASE)
_NOT_TOKEN = re.compile(r"[^A-Z0-9]+")
_DATE = re.compile(r"(\d{4}(?:-\d{2}(?:-\d{2})?)?)\s*(?:\(?(actual|estimated|anticipated|expected)\)?)?", re.IGNORECASE)
_AGE = re.compile(r"(\d+(?:\.\d+)?)\s*(year|month|week|day|hour|minute)s?", re.IGNORECASE)


def looks_like_text_page(text: str) -> bool:
    """True for plain text (not JSON or XML) that contains an NCT id."""
    first = text.lstrip()[:1]
    return first not in ("{", "[", "<") and _NCT.search(text) is not None


@dataclass(slots=True)
class _Section:
    label: str
    lines: list[tuple[int, str]] = field(default_factory=list)  # (line index in the page, stripped line)

    @property
    def texts(self) -> list[str]:
        return [t for _, t in self.lines]


def _is_blurb(line: str) -> bool:
    """A site blurb: one sentence in the site's voice ("Review the sponsor-provided synopsis ...")."""
    if not line.endswith(".") or len(line) > 300 or ". " in line[:-1]:
        return False
    first = line.split(None, 1)[0].lower()
    return first in _BLURB_VERBS


class _Reader:
    def __init__(self, text: str, path: str) -> None:
        # layout B glues the conditions label to the last criterion: "... study results.Conditions2"
        self.text = _GLUED_CONDITIONS.sub(r"\n\1", text)
        self.raw = self.text.splitlines()
        self.path = path
        self.trial = Trial(source=Source(format="text-page", path=path))
        self.issues = self.trial.issues
        self.group_arms: list[tuple[Arm, list[tuple[str, str | None, str | None]]]] = []
        # unmapped lines per key, joined once at the end (str += per section is quadratic on a page that repeats
        # a label many times)
        self.left: dict[str, list[str]] = {}

    # -- helpers -------------------------------------------------------------------------------------------------
    def warn(self, location: str, message: str, code: str = "not-supported") -> None:
        self.issues.append(Issue("warning", location, message, code))

    def info(self, location: str, message: str, code: str = "informational") -> None:
        self.issues.append(Issue("information", location, message, code))

    def unmapped(self, label: str, lines: list[str]) -> None:
        """Keep lines the reader does not understand; a leading label-like line names them."""
        lines = [x for x in lines if x]
        if not lines:
            return
        key = label
        if len(lines) > 1 and _looks_like_label(lines[0]):
            key, lines = lines[0], lines[1:]
            if lines and _is_blurb(lines[0]) and len(lines) > 1:
                lines = lines[1:]
        self.left.setdefault(key, []).extend(lines)
        self.warn(key, f"page content not understood by the reader ({len(lines)} line(s)), kept in unmapped")

    # -- structure -----------------------------------------------------------------------------------------------
    def sections(self) -> tuple[list[tuple[int, str]], list[_Section]]:
        preamble: list[tuple[int, str]] = []
        sections: list[_Section] = []
        for i, raw in enumerate(self.raw):
            line = raw.strip()
            if not line:
                continue
            label = _LABELS.get(line.lower())
            m = _CONDITIONS_N.fullmatch(line)
            if label is None and m is not None:
                label = line
            if label is not None:
                sections.append(_Section(label))
                continue
            if _CHROME.match(line):
                continue
            if sections:
                sections[-1].lines.append((i, line))
            else:
                preamble.append((i, line))
        return preamble, sections

    def read(self) -> Trial:
        preamble, sections = self.sections()
        t = self.trial
        nct_line = None
        for i, line in preamble:
            m = _NCT_LINE.fullmatch(line) or _NCT_ONLY.fullmatch(line)
            if m is not None and t.nct_id is None:
                t.nct_id, nct_line = m.group(1), i
        if t.nct_id is None:
            m2 = _NCT.search("\n".join(line for _, line in preamble))
            if m2 is None:
                raise SourceError("no NCT id found", path=self.path, field="NCT ID")
            t.nct_id = m2.group(0)
        rest: list[str] = []
        for i, line in preamble:
            if i == nct_line:
                continue
            if t.brief_title is None and not _NCT.fullmatch(line):
                t.brief_title = line
                continue
            m3 = _LAST_UPDATED.fullmatch(line)
            if m3 is not None:
                t.last_update_posted_date = _date(m3.group(1))
                continue
            rest.append(line)
        self.unmapped("page header", rest)
        handlers: dict[str, Callable[[_Section], list[str]]] = {
            "Study Results": self.h_results,
            "Basic Information": self.h_blurb_only,
            "Study Design": self.h_blurb_only,
            "Recruitment Status": self.h_status,
            "Clinical Phase": self.h_phase,
            "Total Enrollment": self.h_enrollment,
            "Study Classification": self.h_study_type,
            "Study Start Date": self.h_date("start_date"),
            "Primary Completion Date": self.h_date("primary_completion_date"),
            "Study Completion Date": self.h_date("completion_date"),
            "Brief Summary": self.h_text("brief_summary"),
            "Summary": self.h_text("brief_summary"),
            "Detailed Description": self.h_text("detailed_description"),
            "Conditions": self.h_list("conditions"),
            "Keywords": self.h_list("keywords"),
            "Allocation Method": self.h_design("allocation"),
            "Intervention Model": self.h_design("intervention_model"),
            "Primary Study Purpose": self.h_design("primary_purpose"),
            "Blinding Strategy": self.h_design("masking"),
            "Study Groups": self.h_groups,
            "Interventions": self.h_interventions,
            "Eligibility Criteria": self.h_eligibility,
            "Eligibility": self.h_eligibility,
            "Minimum Eligible Age": self.h_age("minimum_age"),
            "Maximum Eligible Age": self.h_age("maximum_age"),
            "Eligible Sex": self.h_sex,
            "Accepts Healthy Volunteers": self.h_volunteers,
            "Sponsors": self.h_sponsors,
            "Responsible Party": self.h_responsible,
            "Central Contacts": self.h_contacts,
            "Other Identifiers": self.h_identifiers,
        }
        for sec in sections:
            if sec.label in _CHROME_SECTIONS:
                continue
            lines = list(sec.texts)
            if lines and _is_blurb(lines[0]):
                sec.lines = sec.lines[1:]
            if _CONDITIONS_N.fullmatch(sec.label) and sec.label.lower() != "conditions":
                left = self.h_conditions_n(sec)
            else:
                handler = handlers.get(sec.label)
                left = handler(sec) if handler else sec.texts
            self.unmapped(sec.label, left)
        t.unmapped.update((key, "\n".join(lines)) for key, lines in self.left.items())
        self.link_arms()
        self.fill_outcomes()
        self.age_from_criteria()
        return t

    # -- section handlers: each returns the lines it could not use -----------------------------------------------
    def h_blurb_only(self, sec: _Section) -> list[str]:
        return sec.texts

    def h_results(self, sec: _Section) -> list[str]:
        left = []
        for line in sec.texts:
            if line.lower() in ("results pending", "no results posted", "no results available"):
                self.trial.has_results = False
            elif line.lower() in ("results available", "results posted"):
                self.trial.has_results = True
            else:
                left.append(line)
        return left

    def _single(self, sec: _Section) -> tuple[str | None, list[str]]:
        texts = sec.texts
        if not texts:
            self.warn(sec.label, "label without a value")
            return None, []
        return texts[0], texts[1:]

    def h_status(self, sec: _Section) -> list[str]:
        value, left = self._single(sec)
        if value is not None:
            token = _token(value)
            if token not in _STATUSES:
                self.warn(sec.label, f"unknown recruitment status {value!r}, kept as given", "code-invalid")
                token = value
            self.trial.overall_status = token
        return left

    def h_phase(self, sec: _Section) -> list[str]:
        value, left = self._single(sec)
        if value is not None:
            if _token(value) in ("NA", "N_A", "NOT_APPLICABLE"):
                parts = ["NA"]
            else:
                parts = [_token(p) for p in _PHASE_SEPARATORS.split(value) if p.strip()]
            for p in parts:
                token = {"EARLY_PHASE_1": "EARLY_PHASE1"}.get(p, _PHASE_N.sub(r"PHASE\1", p))
                if token not in _PHASES:
                    self.warn(sec.label, f"unknown phase {p!r}, kept as given", "code-invalid")
                if token not in self.trial.phases:
                    self.trial.phases.append(token)
        return left

    def h_enrollment(self, sec: _Section) -> list[str]:
        value, left = self._single(sec)
        if value is not None:
            m = _ENROLLMENT.fullmatch(value)
            if m is None:
                return [value, *left]
            self.trial.enrollment_count = int(m.group(1).replace(",", ""))
            if m.group(2):
                self.trial.enrollment_type = "ACTUAL" if m.group(2).lower() == "actual" else "ESTIMATED"
        return left

    def h_study_type(self, sec: _Section) -> list[str]:
        value, left = self._single(sec)
        if value is not None:
            self.trial.study_type = _token(value)
        return left

    def h_date(self, attr: str) -> Callable[[_Section], list[str]]:
        def handle(sec: _Section) -> list[str]:
            value, left = self._single(sec)
            if value is not None:
                d = _date(value)
                if d is None:
                    return [value, *left]
                setattr(self.trial, attr, d)
            return left

        return handle

    def h_text(self, attr: str) -> Callable[[_Section], list[str]]:
        def handle(sec: _Section) -> list[str]:
            if sec.texts:
                setattr(self.trial, attr, "\n\n".join(sec.texts))
            return []

        return handle

    def h_list(self, attr: str) -> Callable[[_Section], list[str]]:
        def handle(sec: _Section) -> list[str]:
            target: list[str] = getattr(self.trial, attr)
            target.extend(sec.texts)
            return []

        return handle

    def h_conditions_n(self, sec: _Section) -> list[str]:
        m = _CONDITIONS_N.fullmatch(sec.label)
        announced = int(m.group(1)) if m and m.group(1) else None
        names = [x for x in sec.texts if not (_NCT.fullmatch(x) and x == self.trial.nct_id)]
        self.trial.conditions.extend(names)
        if announced is not None and len(names) != announced:
            listed = "none" if not names else str(len(names))
            self.warn(sec.label, f"the page announces {announced} conditions but lists {listed}", "incomplete")
        return []

    def h_design(self, attr: str) -> Callable[[_Section], list[str]]:
        def handle(sec: _Section) -> list[str]:
            value, left = self._single(sec)
            if value is not None:
                setattr(self.trial.design, attr, _token(value))
            return left

        return handle

    def h_groups(self, sec: _Section) -> list[str]:
        texts = sec.texts
        left: list[str] = []
        arm: Arm | None = None
        ivs: list[tuple[str, str | None, list[str]]] = []  # (name, type, lines shown under the arm)
        desc: list[str] = []
        # lines are collected and joined once per arm and intervention (joining per line is quadratic)
        groups: list[tuple[Arm, list[str], list[tuple[str, str | None, list[str]]]]] = []
        i = 0
        while i < len(texts):
            line = texts[i]
            nxt = texts[i + 1] if i + 1 < len(texts) else ""
            gm = _GROUP_TYPE.fullmatch(nxt)
            im = _INTERVENTION_TYPE.fullmatch(nxt)
            if gm is not None:
                arm = Arm(label=line, type=_token(gm.group(1)))
                ivs, desc = [], []
                groups.append((arm, desc, ivs))
                i += 2
                continue
            if arm is not None and im is not None:
                ivs.append((line, _token(im.group(1)), []))
                i += 2
                continue
            if arm is None:
                left.append(line)
            elif ivs:
                ivs[-1][2].append(line)
            else:
                desc.append(line)
            i += 1
        for arm, desc, ivs in groups:
            if desc:
                arm.description = "\n".join(desc)
            self.group_arms.append((arm, [(name, typ, "\n".join(shown) or None) for name, typ, shown in ivs]))
        return left

    def h_interventions(self, sec: _Section) -> list[str]:
        pending: list[str] = []
        for line in sec.texts:
            m = _INTERVENTION_TYPE.fullmatch(line)
            if m is None:
                pending.append(line)
                continue
            if not pending:
                self.warn(sec.label, "intervention type line without an intervention name")
                continue
            self.trial.interventions.append(
                Intervention(name=pending[0], type=_token(m.group(1)), description="\n".join(pending[1:]) or None)
            )
            pending = []
        return pending

    def link_arms(self) -> None:
        by_name = {iv.name: iv for iv in self.trial.interventions}
        labels = {id(iv): set(iv.arm_labels) for iv in self.trial.interventions}  # a set: linear in the arms
        for arm, ivs in self.group_arms:
            described = [arm.description] if arm.description else []
            for name, typ, shown in ivs:
                iv = by_name.get(name)
                if iv is None:
                    iv = Intervention(name=name, type=typ, description=shown)
                    self.trial.interventions.append(iv)
                    by_name[name] = iv
                    labels[id(iv)] = set()
                elif shown and shown != iv.description:
                    # text under the arm that is not the intervention's own description: the arm's description
                    described.append(shown)
                if arm.label not in labels[id(iv)]:
                    labels[id(iv)].add(arm.label)
                    iv.arm_labels.append(arm.label)
                kind = (typ or iv.type or "OTHER").replace("_", " ").title()
                arm.intervention_names.append(f"{kind}: {name}")
            if described:
                arm.description = "\n".join(described)
            self.trial.arms.append(arm)

    def h_eligibility(self, sec: _Section) -> list[str]:
        if not sec.lines:
            return []
        first, last = sec.lines[0][0], sec.lines[-1][0]
        block = "\n".join(self.raw[first : last + 1]).strip()
        el = self.trial.eligibility
        el.criteria_text = block
        criteria, issues = split_criteria(block, location="Eligibility Criteria")
        el.criteria = criteria
        self.issues.extend(issues)
        return []

    def h_age(self, attr: str) -> Callable[[_Section], list[str]]:
        def handle(sec: _Section) -> list[str]:
            value, left = self._single(sec)
            if value is not None:
                age = _age(value)
                if age is None and value.strip().upper() not in ("N/A", "NA"):
                    return [value, *left]
                setattr(self.trial.eligibility, attr, age)
            return left

        return handle

    def h_sex(self, sec: _Section) -> list[str]:
        value, left = self._single(sec)
        if value is not None:
            token = _token(value)
            self.trial.eligibility.sex = {"BOTH": "ALL"}.get(token, token)
        return left

    def h_volunteers(self, sec: _Section) -> list[str]:
        value, left = self._single(sec)
        if value is not None:
            low = value.strip().lower()
            if low in ("yes", "true", "accepts healthy volunteers"):
                self.trial.eligibility.healthy_volunteers = True
            elif low in ("no", "false"):
                self.trial.eligibility.healthy_volunteers = False
            else:
                return [value, *left]
        return left

    def h_sponsors(self, sec: _Section) -> list[str]:
        pending: list[str] = []
        for line in sec.texts:
            m = _SPONSOR_ROLE.fullmatch(line)
            if m is None:
                pending.append(line)
                continue
            if not pending:
                self.warn(sec.label, "sponsor role line without a sponsor name")
                continue
            org = Organization(name=pending[0])
            extra = pending[1:]
            if extra and _token(extra[0]) in _AGENCY_CLASSES:
                org.agency_class = _token(extra[0])
                extra = extra[1:]
            role = m.group(1).lower()
            if role == "lead":
                self.trial.lead_sponsor = org
            else:
                self.trial.collaborators.append(org)
            if extra:
                self.unmapped(sec.label, extra)
            pending = []
        return pending

    def h_responsible(self, sec: _Section) -> list[str]:
        pending: list[str] = []
        for line in sec.texts:
            m = _RESPONSIBILITY_ROLE.fullmatch(line)
            if m is None:
                pending.append(line)
                continue
            rp = ResponsibleParty(type=_token(m.group(1)))
            if pending:
                rp.name = pending[0]
            if len(pending) > 1:
                rp.title = pending[1]
            if len(pending) > 2:
                rp.affiliation = pending[2]
            self.trial.responsible_party = rp
            left = pending[3:]
            pending = []
            if left:
                self.unmapped(sec.label, left)
        return pending

    def h_contacts(self, sec: _Section) -> list[str]:
        texts = sec.texts
        left: list[str] = []
        contact: Contact | None = None
        i = 0
        while i < len(texts):
            line = texts[i]
            nxt = texts[i + 1] if i + 1 < len(texts) else ""
            rm = _CONTACT_ROLE.fullmatch(nxt)
            if rm is not None:
                contact = Contact(name=line, role=_token(rm.group(1)))
                self.trial.central_contacts.append(contact)
                i += 2
                continue
            pm = _PHONE.fullmatch(line)
            if contact is not None and pm is not None and contact.phone is None:
                contact.phone = pm.group(1)
                contact.phone_ext = pm.group(2)
            elif contact is not None and _is_email(line) and contact.email is None:
                contact.email = line
            else:
                left.append(line)
            i += 1
        return left

    def h_identifiers(self, sec: _Section) -> list[str]:
        left: list[str] = []
        current: SecondaryId | None = None
        source: str | None = None

        def close() -> None:
            if current is None:
                return
            if source == "org_study_id":
                self.trial.org_study_id = current
            else:
                self.trial.secondary_ids.append(current)

        for line in sec.texts:
            m = _IDENTIFIER_FIELD.fullmatch(line)
            if m is None:
                close()
                current, source = SecondaryId(id=line), None
                continue
            if current is None:
                left.append(line)
                continue
            what, value = m.group(1).lower(), m.group(2).strip()
            if value in ("", "-", "—"):
                continue
            if what == "type":
                current.type = value
            elif what == "source":
                source = value
            elif what == "domain":
                current.domain = value
            else:
                current.link = value
        close()
        return left

    # -- derived content -----------------------------------------------------------------------------------------
    def fill_outcomes(self) -> None:
        seen: set[tuple[str, str]] = set()
        for text in (self.trial.brief_summary, self.trial.detailed_description):
            for outcome in _prose_outcomes(text or ""):
                key = (outcome.measure, outcome.type)
                if key not in seen:
                    seen.add(key)
                    self.trial.outcomes.append(outcome)
        if self.trial.outcomes:
            self.info("outcomes", f"{len(self.trial.outcomes)} outcome(s) read from the summary/description prose")

    def age_from_criteria(self) -> None:
        el = self.trial.eligibility
        if el.minimum_age is not None or el.maximum_age is not None:
            return
        for index, crit in enumerate(el.criteria):
            if crit.exclude:
                continue
            m = _AGE_RANGE.search(crit.text)
            if m is None:
                continue
            el.minimum_age = AgeLimit(_number(m.group(1)), "years")
            el.maximum_age = AgeLimit(_number(m.group(2)), "years")
            self.info(
                f"Eligibility Criteria[{index}]",
                f"age limits {m.group(1)}-{m.group(2)} years read from the criterion text:"
                " the page states no age fields",
            )
            return


_AGE_RANGE = re.compile(r"\b(?:between|aged|ages?)\s+(\d{1,3})\s*(?:and|to|-|–)\s*(\d{1,3})\s+years?\b", re.IGNORECASE)


def _looks_like_label(line: str) -> bool:
    words = line.split()
    return 0 < len(words) <= 6 and not line.endswith((".", ";", ",")) and not line[0].isdigit()


def _token(value: str) -> str:
    """A ct.gov-style token: 'Not yet recruiting' or 'NOT_YET_RECRUITING' -> 'NOT_YET_RECRUITING'."""
    return _NOT_TOKEN.sub("_", value.strip().upper()).strip("_")


def _date(value: str) -> DateInfo | None:
    m = _DATE.fullmatch(value.strip())
    if m is None:
        return None
    kind = m.group(2)
    return DateInfo(m.group(1), None if kind is None else "ACTUAL" if kind.lower() == "actual" else "ESTIMATED")


def _age(value: str) -> AgeLimit | None:
    m = _AGE.fullmatch(value.strip())
    if m is None:
        return None
    return AgeLimit(_number(m.group(1)), _AGE_UNITS[m.group(2).lower()])


def _is_email(line: str) -> bool:
    """What ``\\S+@\\S+\\.\\S+`` fullmatches, in linear time (that pattern is cubic on "@@@...")."""
    if not line or line.split() != [line]:
        return False
    at = line.find("@", 1)
    return at > 0 and line.rfind(".", 0, len(line) - 1) >= at + 2


def _number(text: str) -> float:
    """``"18"`` -> 18 (an int where the value is whole, as the JSON reader gives it), ``"2.5"`` -> 2.5."""
    value = float(text)
    return int(value) if value.is_integer() else value


# -- endpoints in prose --------------------------------------------------------------------------------------------
_KIND = {
    "primary": "PRIMARY",
    "main": "PRIMARY",
    "secondary": "SECONDARY",
    "key secondary": "SECONDARY",
    "exploratory": "OTHER_PRE_SPECIFIED",
    "tertiary": "OTHER_PRE_SPECIFIED",
}
_ENDPOINT_WORD = r"(?:efficacy\s+|safety\s+)?(?:indicator|endpoint|end[- ]point|outcome(?:\s+measure)?)s?"
# Linear on any text: every run of spaces is possessive (\s++) or cannot share characters with its neighbour, and
# the measure starts and ends with a non-space, so no run is re-scanned for every way of splitting it.
# "use the 6-month PFS rate (PFS6) as the primary efficacy indicator"
_AS_ENDPOINT = re.compile(
    r"\b(?:use|uses|used|using|take|takes|taking|adopt|adopts|with)\s++(?:the\s++)?"
    r"(?P<m>[^.;:\s][^.;:]{1,158}?[^.;:\s])\s++as\s++"
    r"(?:the\s++|its\s++|a\s++)?(?P<kind>primary|main|key secondary|secondary|exploratory)\s++"
    + _ENDPOINT_WORD
    + r"\b",
    re.IGNORECASE,
)
# _AS_ENDPOINT is tried only where it can match (see _as_endpoints): where a verb starts and an "as ... endpoint"
# (_AS_TAIL, from the first space before "as") lies within reach of the 160-character measure. Tried at every verb,
# its lazy measure costs 160 steps per verb ("uses uses uses ..." is 160 times the page).
_VERB = re.compile(r"\b(?=(?:use|uses|used|using|take|takes|taking|adopt|adopts|with)\s)", re.IGNORECASE)
_VERB_THE = re.compile(r"(?:use|uses|used|using|take|takes|taking|adopt|adopts|with)\s++(the\s++)?", re.IGNORECASE)
_AS_TAIL = re.compile(
    r"(?<!\s)\s++as\s++(?:the\s++|its\s++|a\s++)?(?:primary|main|key secondary|secondary|exploratory)\s++"
    + _ENDPOINT_WORD
    + r"\b",
    re.IGNORECASE,
)
# "The primary endpoint is overall survival." / "Secondary endpoints include ORR, DCR and OS."
_ENDPOINT_IS = re.compile(
    r"\b(?P<kind>primary|main|key secondary|secondary|exploratory)\s+"
    + _ENDPOINT_WORD
    + r"\s+(?:is|are|was|were|will\s+be|include|includes|included)(?:\s*:)?\s+(?P<m>[^.;]{3,300})",
    re.IGNORECASE,
)
# "1. Primary Objective ... Assessments include: A (x) B (y) C." / "2. Exploratory Objectives ... and:A B C."
_OBJECTIVE = re.compile(
    r"(?P<kind>Primary|Secondary|Exploratory|Tertiary)\s+Objectives?\b(?P<body>.*?)(?=\s\d{1,2}\.\s+\S|$)",
    re.IGNORECASE | re.DOTALL,
)
_LIST_INTRO = re.compile(r"\b(?:include|includes|including|are|and|following|as follows)\s*:\s*", re.IGNORECASE)
# A run of spaces before ";" (or "and") is matched from its first space only ((?<!\s)): a search that started
# at every space of a long run would scan the rest of the run each time (quadratic). Same splits as \s*;\s*.
_FLAT_SPLIT = re.compile(r"(?<=[a-z)\]])\s+(?=[A-Z])|;\s*|(?<!\s)\s+;\s*")
_LIST_SEPARATORS = re.compile(r",\s*(?:and\s+)?|(?<!\s)\s+and\s+")
_SENTENCE_END = re.compile(r"\.(?:\s|$)")
_LIST_WORD = re.compile(r"(?<!\s)\s*\b(?:Assessments|Endpoints|Outcomes|Measures|These)$", re.IGNORECASE)
# A description longer than this is a paragraph without full stops, not a sentence: it is not repeated per endpoint
# (the bundle would grow with the square of the page), the text the endpoint was read from is used instead.
_MAX_SENTENCE = 1000


def _as_endpoints(text: str) -> Iterator[re.Match[str]]:
    """What ``_AS_ENDPOINT.finditer(text)`` gives, trying the pattern only at verbs with a tail within reach."""
    tails = [m.start() for m in _AS_TAIL.finditer(text)]
    if not tails:
        return
    last_end = 0
    for verb in _VERB.finditer(text):
        p = verb.start()
        head = _VERB_THE.match(text, p)
        if p < last_end or head is None:
            continue
        first = head.start(1) if head.group(1) else head.end()  # the measure starts here or after "the"
        i = bisect.bisect_left(tails, first + 3)  # the measure is 3 to 160 characters, its tail right after it
        if i == len(tails) or tails[i] > head.end() + 160:
            continue
        m = _AS_ENDPOINT.match(text, p)
        if m is not None:
            last_end = m.end()
            yield m


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence holding ``text[start:end]`` (from the last ". " or line break before it to the next ". "), or
    ``text[start:end]`` itself when that sentence is longer than _MAX_SENTENCE. Looks at most that far each way."""
    lo = max(0, start - _MAX_SENTENCE)
    s = max(text.rfind(". ", lo, start), text.rfind("\n", lo, start))
    if s < 0 and lo > 0:
        return text[start:end].strip()
    s = 0 if s < 0 else s + 1
    hi = end + _MAX_SENTENCE + 2
    e = text.find(". ", end, hi)
    if e < 0 and hi < len(text):
        return text[start:end].strip()
    e = len(text) if e < 0 else e + 1
    return text[s:e].strip() if e - s <= _MAX_SENTENCE else text[start:end].strip()


def _prose_outcomes(text: str) -> list[Outcome]:
    """Endpoints stated in prose, with verbatim measure texts:

    * "<measure> as the primary/secondary/exploratory (efficacy) indicator|endpoint|outcome" (after use/using/...);
    * "The primary/secondary endpoint(s) is/are/include <measure>[, <measure> and <measure>]";
    * "Primary/Secondary/Exploratory Objective(s) ... include:|are:|and: <list>" where the list runs to the end of
      the sentence and its items are split where a capitalised word follows a word or ")" (a bulleted list
      flattened into one line) or at ";".

    PRIMARY/SECONDARY come from the wording; exploratory/tertiary become OTHER_PRE_SPECIFIED. The description is
    the sentence (or the objective's statement) the measure was read from, when it is at most _MAX_SENTENCE
    long; otherwise the words the measure was read from (or none, for an objective's statement): so the output
    stays linear in the size of the page however many endpoints one paragraph lists.
    """
    out: list[Outcome] = []
    for m in _as_endpoints(text):
        kind = _KIND[m.group("kind").lower()]
        out.append(Outcome(m.group("m").strip(), kind, _sentence_around(text, m.start(), m.end())))
    for m in _ENDPOINT_IS.finditer(text):
        kind = _KIND[m.group("kind").lower()]
        sentence = _sentence_around(text, m.start(), m.end())
        for part in _LIST_SEPARATORS.split(m.group("m")):
            if part.strip():
                out.append(Outcome(part.strip(), kind, sentence))
    for m in _OBJECTIVE.finditer(text):
        kind = _KIND[m.group("kind").lower()]
        body = m.group("body")
        intro = _LIST_INTRO.search(body)
        if intro is None:
            continue
        tail = body[intro.end() :]
        stop = _SENTENCE_END.search(tail)
        listed = tail[: stop.start()] if stop else tail
        statement = body[: intro.start()].strip()
        # the objective's own statement, without the word that introduces the list ("Assessments include:")
        stated = _LIST_WORD.sub("", statement).strip()
        desc = stated if 0 < len(stated) <= _MAX_SENTENCE else None
        for item in _FLAT_SPLIT.split(listed):
            item = item.strip()
            if len(item) >= 3:
                out.append(Outcome(item, kind, desc))
    return out


def read_text_page(text: str, path: str = "<memory>") -> Trial:
    """Read one plain-text trial page into a Trial. Raises ``SourceError`` when the page has no NCT id."""
    return _Reader(text, path).read()
