"""Reader for legacy ClinicalTrials.gov ``<clinical_study>`` XML (the classic bulk download and AACT exports,
2014-2021 generations; schema https://clinicaltrials.gov/ct2/html/images/info/public.xsd).

The reader gives the same ``Trial`` as the API v2 JSON reader (``ctgov_json``) for the same record: legacy wording
goes through the ConceptMaps of ``mappings/`` (``terminology.normalize``), legacy dates ("May 2019",
"March 27, 2019") become ISO 8601 at the precision given, and the indented, wrapped ``textblock`` s are reflowed to
the paragraphs and ``*`` lists that ClinicalTrials.gov shows for the same text in API v2.

Parsing is hardened: lxml with no entity resolution, no DTD loading, no network and no huge trees, and a document
that declares entities in a DOCTYPE is refused before it is parsed (external entities, billion laughs).

Nothing is dropped silently. Every element and attribute is either mapped, listed in ``IGNORED`` (registry
bookkeeping, derived values, results and documents that are reported once), or kept verbatim as text in
``Trial.unmapped`` (keyed by its element path, ``oversight_info/has_dmc``, ``location[3]/investigator[0]/role``)
with a warning ``Issue``.
"""

from __future__ import annotations

import codecs
import re
from pathlib import PurePath
from typing import Any, cast

from lxml import etree

from fhir_adapter import terminology
from fhir_adapter.errors import SourceError
from fhir_adapter.issues import Issue
from fhir_adapter.limits import DEFAULT_LIMITS, Limits
from fhir_adapter.model import (
    AgeLimit,
    Arm,
    Contact,
    DateInfo,
    Design,
    Eligibility,
    Intervention,
    Link,
    Official,
    Organization,
    Outcome,
    Reference,
    ResponsibleParty,
    SecondaryId,
    Site,
    Source,
    Trial,
)
from fhir_adapter.sources.criteria import split_criteria
from fhir_adapter.sources.guards import (
    check_items,
    check_nct_id,
    check_text_items,
    check_xml_counts,
    parse_count,
    read_age,
)
from fhir_adapter.sources.wording import parse_registry_date

__all__ = ["IGNORED", "looks_like_ctgov_xml", "read_clinical_study", "reflow_textblock"]

# Element paths (below <clinical_study>, without indices) and attributes left out on purpose, without a report.
IGNORED = frozenset(
    {
        # registry bookkeeping of the download itself
        "required_header",  # download_date, link_text, url
        "@rank",  # position in a search result
        # QC and submission dates: the v2 reader ignores the same (studyFirstSubmitQcDate, lastUpdateSubmitDate,
        # resultsFirstSubmitDate, resultsFirstSubmitQcDate, dispFirstSubmitDate, dispFirstSubmitQcDate,
        # dispFirstPostDateStruct)
        "study_first_submitted_qc",
        "last_update_submitted",
        "last_update_submitted_qc",
        "results_first_submitted",
        "results_first_submitted_qc",
        "disposition_first_submitted",
        "disposition_first_submitted_qc",
        "disposition_first_posted",
        # pre-2017 names of the same dates (the file's own comment: "lastchanged_date becomes
        # last_update_submitted", ...); firstreceived_date is read as study_first_submitted when that is missing
        "lastchanged_date",
        "firstreceived_results_date",
        "firstreceived_results_disposition_date",
        # derived from <location> (removed countries are v2 miscInfoModule, which the v2 reader ignores too);
        # number_of_arms / number_of_groups are consumed when they agree with the arm groups, else kept
        "location_countries",
        "removed_countries",
        # reported once as an information issue (as the v2 reader does for resultsSection / documentSection)
        "clinical_results",
        "provided_document_section",
    }
)

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "dtd_validation": False,
    "remove_comments": True,
    "remove_pis": True,
}
_HEAD_BYTES = 4096
_ROOT = "clinical_study"
_FIRST_ELEMENT = re.compile(
    rb"\s*(?:<\?[^?]*\?>\s*|<!--(?:[^-]|-(?!->))*-->\s*|<!DOCTYPE[^\[>]*+(?:\[[^\]]*\])?\s*>\s*)*<(?P<name>[\w.:-]+)"
)
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)
_NCT = re.compile(r"NCT\d{8}", re.IGNORECASE)


# Width of the legacy textblock rendering (line length including the indentation): a line break is a wrap made by
# the renderer when the next word would not have fitted on the line.
_WRAP_WIDTH = 99
_LIST_MARKER = re.compile(
    r"(?P<marker>[-*+•·▪●◦]|\d{1,3}[.)]|\(\d{1,3}\)|[a-zA-Z][.)]|\([a-zA-Z]\)|[ivxIVX]{2,4}[.)])(?P<space>\s+)(?=\S)"
)
_BULLETS = "-*+•·▪●◦"


# ------------------------------------------------------------------------------------------------ detection


def looks_like_ctgov_xml(head: bytes) -> bool:
    """True when the first element of the document is ``<clinical_study>`` (looks at the first 4 KB only)."""
    text = _as_utf8(head[:_HEAD_BYTES])
    m = _FIRST_ELEMENT.match(text)
    return m is not None and m.group("name") == _ROOT.encode()


def _as_utf8(data: bytes) -> bytes:
    """UTF-16/32 input (by BOM or NUL bytes) re-encoded as UTF-8 for the byte-level checks; others as given."""
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :]
    for bom, enc in (
        (codecs.BOM_UTF32_LE, "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(enc, errors="ignore").encode()
    if len(data) >= 4 and b"\x00" in data[:4]:
        enc = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
        return data.decode(enc, errors="ignore").encode()
    return data


# ------------------------------------------------------------------------------------------------ parsing


def _parse(data: bytes, source: Source, limits: Limits = DEFAULT_LIMITS) -> etree._Element:
    """The root element, parsed with the hardened parser; entity declarations, and documents with more elements or
    attributes on one element than the limits allow, are refused before parsing (libxml2's duplicate-attribute
    check is quadratic in the attributes of an element)."""
    checked = _as_utf8(data)
    if _DOCTYPE.search(checked) and _ENTITY.search(checked):
        raise SourceError(
            "XML with entity declarations is refused (XXE / entity expansion)",
            path=source.path,
            index=source.index,
            field="DOCTYPE",
        )
    check_xml_counts(checked, limits.max_xml_elements, limits.max_xml_attributes, source)
    parser = etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        line, column = e.position
        raise SourceError(
            f"malformed XML at line {line}, column {column}: {e.msg}", path=source.path, index=source.index
        ) from None
    if root is None:
        raise SourceError("empty XML document", path=source.path, index=source.index)
    docinfo = root.getroottree().docinfo
    dtd = docinfo.internalDTD
    if dtd is not None and any(True for _ in cast(Any, dtd).iterentities()):  # belt and braces
        raise SourceError(
            "XML with entity declarations is refused (XXE / entity expansion)",
            path=source.path,
            index=source.index,
            field="DOCTYPE",
        )
    if root.tag != _ROOT:
        raise SourceError(
            f"root element is <{root.tag}>, not <{_ROOT}>", path=source.path, index=source.index, field=str(root.tag)
        )
    return root


# ------------------------------------------------------------------------------------------------ textblocks


def reflow_textblock(raw: str) -> str | None:
    """A legacy ``textblock`` as ClinicalTrials.gov API v2 shows the same text.

    The common indentation is removed; lines wrapped by the legacy renderer (99 columns) are joined with one space,
    other line breaks in a paragraph are kept; list items (``-``, ``*``, ``1.``, ``a)`` ...) start a line, ``-`` /
    ``+`` / ``•`` bullets become ``*`` (numbers and letters are kept as written), nested items are indented by two
    spaces per level, and a paragraph indented under an item stays indented under it. Paragraphs are separated by a
    blank line, consecutive list items by a line break. None for a blank textblock.
    """
    lines = [line.expandtabs(8).rstrip() for line in raw.splitlines()]
    indents = [len(line) - len(line.lstrip()) for line in lines if line]
    if not indents:
        return None
    base = min(indents)
    # (kind, indent, text column, marker, text, block number)
    entries: list[list[object]] = []
    block = 0
    prev_line = ""
    for line in lines:
        if not line:
            block += 1
            prev_line = ""
            continue
        indent = len(line) - len(line.lstrip()) - base
        content = line.strip()
        m = _LIST_MARKER.match(content)
        same_block = bool(entries) and entries[-1][5] == block
        if m is not None:
            marker = m.group("marker")
            entries.append(["item", indent, indent + m.end(), marker, content[m.end() :], block])
        elif same_block:
            last = entries[-1]
            wrapped = len(prev_line) + 1 + len(content.split()[0]) > _WRAP_WIDTH
            sep = " " if wrapped or last[0] == "item" else "\n"
            last[4] = f"{last[4]}{sep}{content}"
        else:
            entries.append(["para", indent, indent, "", content, block])
        prev_line = line
    out: list[str] = []
    stack: list[tuple[int, int]] = []  # (indent, text column) of the open list items
    prev: list[object] | None = None
    for e in entries:
        kind, indent, text_col, marker, text = e[0], int(str(e[1])), int(str(e[2])), str(e[3]), str(e[4])
        if kind == "item":
            while stack and indent <= stack[-1][0]:
                stack.pop()
            level = len(stack)
            stack.append((indent, text_col))
            shown = "*" if marker in _BULLETS else marker
            piece = "  " * level + f"{shown} {text}"
        else:
            while stack and indent < stack[-1][1]:
                stack.pop()
            level = len(stack)
            piece = "  " * level + text
        if prev is not None:
            both_items = kind == "item" and prev[0] == "item"
            out.append("\n" if both_items or prev[5] == e[5] else "\n\n")
        out.append(piece)
        prev = e
    text = "".join(out).strip()
    return text or None


# ------------------------------------------------------------------------------------------------ reader


def _child_steps(parent: etree._Element) -> dict[etree._Element, str]:
    """Each child's path step: its tag, with its index among the children of the same tag when the tag repeats."""
    counts: dict[Any, int] = {}
    for c in parent:
        counts[c.tag] = counts.get(c.tag, 0) + 1
    seen: dict[Any, int] = {}
    steps = {}
    for c in parent:
        index = seen[c.tag] = seen.get(c.tag, -1) + 1
        steps[c] = f"{c.tag}[{index}]" if counts[c.tag] > 1 else str(c.tag)
    return steps


def _text_of(el: etree._Element) -> str:
    """All text inside an element (comments and processing instructions are removed by the parser)."""
    return "".join(p if isinstance(p, str) else p.decode() for p in el.itertext())


def _plain_path(path: str) -> str:
    return re.sub(r"\[\d+\]", "", path)


class _Reader:
    """Reads one ``<clinical_study>``; remembers which elements and attributes were consumed."""

    def __init__(self, root: etree._Element, source: Source, limits: Limits = DEFAULT_LIMITS) -> None:
        self.root = root
        self.source = source
        self.limits = limits
        self.nct_id: str | None = None
        self.issues: list[Issue] = []
        self.used: set[etree._Element] = set()
        self.used_attrs: set[tuple[etree._Element, str]] = set()
        self.unmapped: dict[str, str] = {}
        self._steps: dict[etree._Element, dict[etree._Element, str]] = {}

    def warn(self, location: str, message: str, code: str = "value") -> None:
        self.issues.append(Issue("warning", location, message, code))

    def path_of(self, el: etree._Element) -> str:
        """``location[3]/investigator[0]/role``: the element path below the root, indexed where a tag repeats. The
        steps of all children of a parent are worked out once (a warning per sibling stays linear)."""
        parts: list[str] = []
        cur: etree._Element = el
        while (parent := cur.getparent()) is not None:
            steps = self._steps.get(parent)
            if steps is None:
                steps = self._steps[parent] = _child_steps(parent)
            parts.append(steps[cur])
            cur = parent
        return "/".join(reversed(parts))

    # -- element access -------------------------------------------------------------------------------------
    def all(self, parent: etree._Element | None, tag: str) -> list[etree._Element]:
        """The children with the tag (consumed); more than ``limits.max_list_items`` raise ``LimitExceeded``
        (every repeated element is read here)."""
        if parent is None:
            return []
        found = [c for c in parent if c.tag == tag]
        if len(found) > self.limits.max_list_items:
            field = tag if parent is self.root else f"{self.path_of(parent)}/{tag}"
            check_items(len(found), field, self.limits.max_list_items, self.source, self.nct_id)
        self.used.update(found)
        return found

    def one(self, parent: etree._Element | None, tag: str) -> etree._Element | None:
        """The first child with the tag (consumed); a repeated single-valued element leaves the others unmapped."""
        if parent is None:
            return None
        for c in parent:
            if c.tag == tag:
                self.used.add(c)
                return c
        return None

    def value(self, el: etree._Element | None) -> str | None:
        if el is None:
            return None
        text = _text_of(el).strip()
        return text or None

    def text(self, parent: etree._Element | None, tag: str) -> str | None:
        return self.value(self.one(parent, tag))

    def texts(self, parent: etree._Element | None, tag: str) -> list[str]:
        return [v for v in (self.value(e) for e in self.all(parent, tag)) if v]

    def textblock(self, parent: etree._Element | None, tag: str) -> str | None:
        el = self.one(parent, tag)
        if el is None:
            return None
        tb = self.one(el, "textblock")
        return reflow_textblock(_text_of(tb)) if tb is not None else self.value(el)

    def release(self, el: etree._Element) -> None:
        """Give an element back to the unmapped collection (its value could not be read)."""
        self.used.discard(el)

    def code(self, axis: str, parent: etree._Element | None, tag: str) -> str | None:
        el = self.one(parent, tag)
        raw = self.value(el)
        if el is None or raw is None:
            return None
        return self.code_of(axis, raw, el)

    def code_of(self, axis: str, raw: str, where: str | etree._Element) -> str | None:
        token = terminology.normalize(axis, raw)
        if token is None:
            location = where if isinstance(where, str) else self.path_of(where)
            self.warn(location, f"unknown {axis} code {raw[:40]!r}; kept as given")
            return raw
        return token

    def date_type(self, el: etree._Element) -> str | None:
        raw = el.get("type")
        if raw is None:
            return None
        self.used_attrs.add((el, "type"))
        raw = raw.strip()
        # "Estimate" (study_first_posted, last_update_posted) is the noun form of the ConceptMap's "Estimated"
        token = terminology.normalize("date-type", raw) or terminology.normalize("date-type", raw + "d")
        if token is None:
            self.warn(f"{self.path_of(el)}@type", f"unknown date-type code {raw[:40]!r}; kept as given")
            return raw
        return token

    def date_text(self, parent: etree._Element | None, tag: str) -> str | None:
        el = self.one(parent, tag)
        raw = self.value(el)
        if el is None or raw is None:
            return None
        iso = parse_registry_date(raw)
        if iso is None:
            self.warn(self.path_of(el), f"cannot read date {raw[:30]!r}; kept in unmapped")
            self.release(el)
        return iso

    def date(self, parent: etree._Element | None, tag: str) -> DateInfo | None:
        el = self.one(parent, tag)
        if el is None:
            return None
        iso = self.date_text(parent, tag)
        if iso is None:
            return None
        return DateInfo(date=iso, type=self.date_type(el))

    def flag(self, parent: etree._Element | None, tag: str) -> bool | None:
        el = self.one(parent, tag)
        raw = self.value(el)
        if el is None or raw is None:
            return None
        low = raw.lower()
        if low in ("yes", "true"):
            return True
        if low in ("no", "false"):
            return False
        self.warn(self.path_of(el), f"expected Yes/No, got {raw[:30]!r}; kept in unmapped")
        self.release(el)
        return None


def read_clinical_study(data: bytes, source: Source, *, limits: Limits = DEFAULT_LIMITS) -> Trial:
    """One legacy ``<clinical_study>`` document -> Trial.

    Raises ``SourceError`` for malformed XML (with line and column), a document declaring entities, a root other
    than ``clinical_study`` and a record without a plausible ``id_info/nct_id``; ``LimitExceeded`` for a document
    over the XML element or attribute limits, or a repeated element over ``limits.max_list_items``.
    """
    root = _parse(data, source, limits)
    r = _Reader(root, source, limits)
    id_info = r.one(root, "id_info")
    nct = r.text(id_info, "nct_id")
    if not nct:
        raise SourceError("record has no NCT id", path=source.path, index=source.index, field="id_info/nct_id")
    nct = r.nct_id = check_nct_id(nct, "id_info/nct_id", source)
    trial = Trial(nct_id=nct, source=source)
    _identification(r, trial, id_info)
    _check_file_name(r, trial)
    _status(r, trial)
    _sponsors(r, trial)
    _description_conditions(r, trial)
    _design(r, trial)
    _arms(r, trial)
    _outcomes(r, trial)
    _eligibility(r, trial)
    _contacts_locations(r, trial)
    _references(r, trial)
    _mesh(r, trial)
    results = r.one(root, "clinical_results")
    trial.has_results = results is not None
    if results is not None:
        r.issues.append(
            Issue("information", "clinical_results", "results are not mapped to FHIR (hasResults is)", "not-supported")
        )
    if r.one(root, "provided_document_section") is not None:
        r.issues.append(
            Issue("information", "provided_document_section", "study documents are not mapped", "not-supported")
        )
    _collect_unmapped(r, trial)
    trial.unmapped.update(r.unmapped)
    trial.issues = r.issues
    return trial


def _check_file_name(r: _Reader, t: Trial) -> None:
    """A file named after another NCT id than the one inside is read by its content, with a warning."""
    named = _NCT.findall(PurePath(r.source.path).name) if r.source.path else []
    if not named or any(n.upper() == t.nct_id for n in named):
        return
    name_id = named[0].upper()
    alias = " (one of the record's nct_alias ids)" if name_id in t.nct_aliases else ""
    r.warn(
        "id_info/nct_id",
        f"file name says {name_id}{alias} but the record's nct_id is {t.nct_id}; read as {t.nct_id}",
        "business-rule",
    )


def _identification(r: _Reader, t: Trial, id_info: etree._Element | None) -> None:
    org_id = r.text(id_info, "org_study_id")
    if org_id:
        t.org_study_id = SecondaryId(id=org_id)
    # legacy secondary ids carry neither type nor domain
    t.secondary_ids = [SecondaryId(id=s) for s in r.texts(id_info, "secondary_id")]
    t.nct_aliases = r.texts(id_info, "nct_alias")
    root = r.root
    t.brief_title = r.text(root, "brief_title")
    t.official_title = r.text(root, "official_title")
    t.acronym = r.text(root, "acronym")
    # <source> is what API v2 calls identificationModule.organization.fullName (the class is not in legacy XML)
    source = r.text(root, "source")
    if source:
        t.organization = Organization(source)


def _status(r: _Reader, t: Trial) -> None:
    root = r.root
    t.overall_status = r.code("overall-status", root, "overall_status")
    t.last_known_status = r.code("overall-status", root, "last_known_status")
    t.why_stopped = r.text(root, "why_stopped")
    t.status_verified_date = r.date_text(root, "verification_date")
    t.start_date = r.date(root, "start_date")
    t.primary_completion_date = r.date(root, "primary_completion_date")
    t.completion_date = r.date(root, "completion_date")
    t.first_submitted_date = r.date_text(root, "study_first_submitted")
    old = r.one(root, "firstreceived_date")  # pre-2017 name of study_first_submitted
    if old is not None:
        old_iso = parse_registry_date(r.value(old) or "")
        if t.first_submitted_date is None and old_iso is not None:
            t.first_submitted_date = old_iso
        elif old_iso is None or old_iso != t.first_submitted_date:
            r.release(old)
            r.warn(r.path_of(old), "firstreceived_date differs from study_first_submitted; kept in unmapped")
    t.first_posted_date = r.date(root, "study_first_posted")
    t.last_update_posted_date = r.date(root, "last_update_posted")
    t.results_first_posted_date = r.date(root, "results_first_posted")


def _sponsors(r: _Reader, t: Trial) -> None:
    sponsors = r.one(r.root, "sponsors")
    lead = r.one(sponsors, "lead_sponsor")
    name = r.text(lead, "agency")
    if name:
        t.lead_sponsor = Organization(name, r.code("sponsor-class", lead, "agency_class"))
    for c in r.all(sponsors, "collaborator"):
        name = r.text(c, "agency")
        if name:
            t.collaborators.append(Organization(name, r.code("sponsor-class", c, "agency_class")))
        else:
            r.release(c)
    rp = r.one(r.root, "responsible_party")
    if rp is not None:
        t.responsible_party = ResponsibleParty(
            type=r.code("responsible-party-type", rp, "responsible_party_type"),
            name=r.text(rp, "investigator_full_name"),
            title=r.text(rp, "investigator_title"),
            affiliation=r.text(rp, "investigator_affiliation"),
            old_name_title=r.text(rp, "name_title"),
            old_organization=r.text(rp, "organization"),
        )


def _description_conditions(r: _Reader, t: Trial) -> None:
    t.brief_summary = r.textblock(r.root, "brief_summary")
    t.detailed_description = r.textblock(r.root, "detailed_description")
    t.conditions = r.texts(r.root, "condition")
    t.keywords = r.texts(r.root, "keyword")


def _design(r: _Reader, t: Trial) -> None:
    root = r.root
    st = r.one(root, "study_type")
    raw_type = r.value(st)
    if st is not None and raw_type:
        t.study_type = r.code_of("study-type", raw_type, "study_type")
        if "[" in raw_type:  # "Observational [Patient Registry]": v2 has a separate patientRegistry flag
            r.unmapped["study_type"] = raw_type
            r.warn(
                "study_type",
                "the bracketed study type qualifier is not mapped; kept as text (ResearchStudy.note)",
                "not-supported",
            )
    phase = r.one(root, "phase")
    raw_phase = r.value(phase)
    if phase is not None and raw_phase:
        t.phases = terminology.normalize_phase(raw_phase)
        if not t.phases:
            r.warn("phase", f"unknown phase {raw_phase[:30]!r}; kept as given")
            t.phases = [raw_phase]
    d = Design()
    di = r.one(root, "study_design_info")
    if di is not None:
        d.allocation = r.code("allocation", di, "allocation")
        d.intervention_model = r.code("intervention-model", di, "intervention_model")
        d.intervention_model_description = r.text(di, "intervention_model_description")
        d.primary_purpose = r.code("primary-purpose", di, "primary_purpose")
        d.observational_model = r.code("observational-model", di, "observational_model")
        d.time_perspective = r.code("time-perspective", di, "time_perspective")
        masking = r.one(di, "masking")
        raw_masking = r.value(masking)
        if masking is not None and raw_masking:
            d.masking, d.who_masked = terminology.legacy_masking(raw_masking)
            if d.masking is None:
                r.warn(r.path_of(masking), f"cannot read masking {raw_masking[:60]!r}; kept in unmapped")
                r.release(masking)
        d.masking_description = r.text(di, "masking_description")
    t.design = d
    enrollment = r.one(root, "enrollment")
    raw_count = r.value(enrollment)
    if enrollment is not None and raw_count:
        t.enrollment_count = parse_count(raw_count)
        if t.enrollment_count is None:
            r.warn("enrollment", "cannot read enrollment (a whole number 0..2147483647); kept in unmapped")
            r.release(enrollment)
        else:
            t.enrollment_type = r.date_type(enrollment)


def _arms(r: _Reader, t: Trial) -> None:
    root = r.root
    for iv in r.all(root, "intervention"):
        name = r.text(iv, "intervention_name")
        if not name:
            r.warn(r.path_of(iv), "intervention without a name; kept in unmapped")
            r.release(iv)
            continue
        t.interventions.append(
            Intervention(
                name=name,
                type=r.code("intervention-type", iv, "intervention_type"),
                description=r.text(iv, "description"),
                arm_labels=r.texts(iv, "arm_group_label"),
                other_names=r.texts(iv, "other_name"),
            )
        )
    for a in r.all(root, "arm_group"):
        label = r.text(a, "arm_group_label")
        if not label:
            r.warn(r.path_of(a), "arm group without a label; kept in unmapped")
            r.release(a)
            continue
        # API v2 lists an arm's interventions as "<Type display>: <name>", in intervention order; legacy XML links
        # them the other way (intervention/arm_group_label)
        names = [
            f"{terminology.ctgov_display('intervention-type', i.type) if i.type else 'Other'}: {i.name}"
            for i in t.interventions
            if label in i.arm_labels
        ]
        t.arms.append(
            Arm(
                label=label,
                type=r.code("arm-type", a, "arm_group_type"),
                description=r.text(a, "description"),
                intervention_names=names,
            )
        )
    for tag in ("number_of_arms", "number_of_groups"):  # derived counts: only a disagreement is worth keeping
        el = r.one(root, tag)
        raw = r.value(el)
        if el is not None and raw is not None and raw != str(len(t.arms)):
            r.release(el)
            r.warn(tag, f"{tag} {raw[:10]} differs from the {len(t.arms)} arm groups; kept in unmapped")


def _outcomes(r: _Reader, t: Trial) -> None:
    for tag, kind in (
        ("primary_outcome", "PRIMARY"),
        ("secondary_outcome", "SECONDARY"),
        ("other_outcome", "OTHER_PRE_SPECIFIED"),
    ):
        for o in r.all(r.root, tag):
            measure = r.text(o, "measure")
            if not measure:
                r.warn(r.path_of(o), "outcome without a measure; kept in unmapped")
                r.release(o)
                continue
            t.outcomes.append(
                Outcome(
                    measure=measure, type=kind, description=r.text(o, "description"), time_frame=r.text(o, "time_frame")
                )
            )


# ClinicalTrials.gov's age groups (https://clinicaltrials.gov/study-basics/glossary "Age group"): child is birth
# to 17 years, adult 18 to 64, older adult 65 and over. API v2 derives stdAges from the age limits this way; legacy
# XML has the limits only.
_YEARS_PER_UNIT = {
    "years": 1.0,
    "months": 1 / 12,
    "weeks": 7 / 365.25,
    "days": 1 / 365.25,
    "hours": 1 / 8766,
    "minutes": 1 / 525960,
}


def _std_ages(low: AgeLimit | None, high: AgeLimit | None) -> list[str]:
    lo = low.value * _YEARS_PER_UNIT.get(low.unit, 1.0) if low else 0.0
    hi = high.value * _YEARS_PER_UNIT.get(high.unit, 1.0) if high else float("inf")
    out = []
    if lo < 18:
        out.append("CHILD")
    if lo < 65 and hi >= 18:
        out.append("ADULT")
    if hi >= 65:
        out.append("OLDER_ADULT")
    return out


def _age(r: _Reader, parent: etree._Element | None, tag: str) -> AgeLimit | None:
    el = r.one(parent, tag)
    raw = r.value(el)
    if el is None or raw is None or raw.upper() == "N/A":  # "N/A": no limit
        return None
    age = read_age(raw)
    if age is None:
        r.warn(r.path_of(el), f"cannot read age {raw[:30]!r}; kept in unmapped")
        r.release(el)
    return age


def _eligibility(r: _Reader, t: Trial) -> None:
    el = r.one(r.root, "eligibility")
    e = Eligibility()
    t.eligibility = e
    if el is None:
        return
    criteria = r.one(el, "criteria")
    tb = r.one(criteria, "textblock")
    text = reflow_textblock(_text_of(tb)) if tb is not None else r.value(criteria)
    e.criteria_text = text
    if text:
        field = "eligibility/criteria/textblock"
        check_text_items(text, field, r.limits.max_list_items, r.source, r.nct_id)
        e.criteria, found = split_criteria(text, location=field)
        check_items(len(e.criteria), field, r.limits.max_list_items, r.source, r.nct_id)
        r.issues.extend(found)
    e.sex = r.code("sex", el, "gender")
    e.gender_based = r.flag(el, "gender_based")
    e.gender_description = r.text(el, "gender_description")
    e.minimum_age = _age(r, el, "minimum_age")
    e.maximum_age = _age(r, el, "maximum_age")
    if el.find("minimum_age") is not None or el.find("maximum_age") is not None:
        e.std_ages = _std_ages(e.minimum_age, e.maximum_age)
    hv = r.one(el, "healthy_volunteers")
    raw_hv = r.value(hv)
    if hv is not None and raw_hv:
        low = raw_hv.lower()
        if low in ("accepts healthy volunteers", "yes"):
            e.healthy_volunteers = True
        elif low == "no":
            e.healthy_volunteers = False
        else:
            r.warn(
                "eligibility/healthy_volunteers", f"cannot read healthy_volunteers {raw_hv[:40]!r}; kept in unmapped"
            )
            r.release(hv)
    e.study_population = r.textblock(el, "study_pop")
    sampling = r.text(el, "sampling_method")
    # API v2 SamplingMethod tokens are the legacy wording upper-cased with "_" ("Non-Probability Sample" ->
    # "NON_PROBABILITY_SAMPLE"); the v2 reader keeps the token as text
    e.sampling_method = re.sub(r"[\s-]+", "_", sampling.strip()).upper() if sampling else None


def _person(r: _Reader, el: etree._Element) -> str | None:
    """first_name middle_name last_name, degrees (legacy contact / investigator structs; recent files use
    last_name for the whole name)."""
    parts = [p for p in (r.text(el, "first_name"), r.text(el, "middle_name"), r.text(el, "last_name")) if p]
    name = " ".join(parts)
    degrees = r.text(el, "degrees")
    if degrees:
        name = f"{name}, {degrees}" if name else degrees
    return name or None


def _contact(r: _Reader, el: etree._Element, role: str | None) -> Contact:
    return Contact(
        name=_person(r, el),
        role=role,
        phone=r.text(el, "phone"),
        phone_ext=r.text(el, "phone_ext"),
        email=r.text(el, "email"),
    )


def _contacts_locations(r: _Reader, t: Trial) -> None:
    root = r.root
    for o in r.all(root, "overall_official"):
        name = _person(r, o)
        if not name:
            r.warn(r.path_of(o), "overall official without a name; kept in unmapped")
            r.release(o)
            continue
        t.officials.append(
            Official(name=name, role=r.code("official-role", o, "role"), affiliation=r.text(o, "affiliation"))
        )
    for tag in ("overall_contact", "overall_contact_backup"):
        t.central_contacts += [_contact(r, c, "CONTACT") for c in r.all(root, tag)]
    for loc in r.all(root, "location"):
        facility = r.one(loc, "facility")
        address = r.one(facility, "address")
        site = Site(
            facility=r.text(facility, "name"),
            status=r.code("recruitment-status", loc, "status"),
            city=r.text(address, "city"),
            state=r.text(address, "state"),
            zip=r.text(address, "zip"),
            country=r.text(address, "country"),
        )
        for tag in ("contact", "contact_backup"):
            site.contacts += [_contact(r, c, "CONTACT") for c in r.all(loc, tag)]
        for inv in r.all(loc, "investigator"):
            site.contacts.append(Contact(name=_person(r, inv), role=r.code("contact-role", inv, "role")))
        t.sites.append(site)


def _references(r: _Reader, t: Trial) -> None:
    for tag in ("reference", "results_reference"):
        kind = terminology.normalize("reference-type", tag)
        for ref in r.all(r.root, tag):
            t.references.append(Reference(citation=r.text(ref, "citation"), pmid=r.text(ref, "PMID"), type=kind))
    for link in r.all(r.root, "link"):
        url = r.text(link, "url")
        if url:
            t.see_also_links.append(Link(url=url, label=r.text(link, "description")))
        else:
            r.release(link)


def _mesh(r: _Reader, t: Trial) -> None:
    """Legacy browse lists give MeSH terms without descriptor ids: ``Mesh`` needs an id, so the terms are kept as
    text (one note per list, terms separated by "; ") and reported, not coded."""
    for tag in ("condition_browse", "intervention_browse"):
        browse = r.one(r.root, tag)
        terms = r.texts(browse, "mesh_term")
        if terms:
            path = f"{tag}/mesh_term"
            r.unmapped[path] = "; ".join(terms)
            r.warn(
                path,
                "MeSH terms without MeSH ids (legacy XML) are not coded; kept as text (ResearchStudy.note)",
                "not-supported",
            )


def _collect_unmapped(r: _Reader, t: Trial) -> None:
    """Every element and attribute no step consumed (and not in ``IGNORED``) goes to ``Trial.unmapped``."""

    def walk(el: etree._Element, path: str) -> None:
        if _plain_path(path) in IGNORED:
            return
        for raw_name, raw_value in el.attrib.items():
            name = raw_name if isinstance(raw_name, str) else raw_name.decode()
            value = raw_value if isinstance(raw_value, str) else raw_value.decode()
            attr = f"{path}@{name}"
            if (el, name) in r.used_attrs or _plain_path(attr) in IGNORED:
                continue
            keep(attr, value)
        children = [c for c in el if isinstance(c.tag, str)]
        if children:  # a container: what matters is its leaves
            counts: dict[str, int] = {}
            for c in children:
                counts[str(c.tag)] = counts.get(str(c.tag), 0) + 1
            for tag, count in counts.items():  # unknown repeated elements are bounded like the known ones
                check_items(count, f"{path}/{tag}" if path else tag, r.limits.max_list_items, r.source, r.nct_id)
            seen: dict[str, int] = {}
            prefix = f"{path}/" if path else ""
            for c in children:
                tag = str(c.tag)
                index = seen.get(tag, 0)
                seen[tag] = index + 1
                walk(c, f"{prefix}{tag}[{index}]" if counts[tag] > 1 else f"{prefix}{tag}")
        elif el not in r.used:
            keep(path, _text_of(el))

    def keep(path: str, text: str) -> None:
        value = reflow_textblock(text) if "\n" in text else text.strip()
        if not value:
            return
        t.unmapped[path] = value
        r.issues.append(
            Issue("warning", path, "field not mapped to FHIR; kept as text (ResearchStudy.note)", "not-supported")
        )

    walk(r.root, "")
