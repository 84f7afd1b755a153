"""A registry-like corpus: N studies shaped like ClinicalTrials.gov as a whole, from this repository's real records.

Templates are the real records of tests/data: the 4 API v2 studies (ctgov-v2/), the legacy ``clinical_study`` XML
files (ctgov-xml/, all but the id-mismatch copy and NCT03182660, which has no study type, criteria or outcomes) and
the 100 studies of the v1 COVID-19 search page (ctgov-v1/covid-19-search-page.json). Each generated study takes a
template of the study type it drew (the three formats weighted equally among the templates that fit) and is then
*shaped* to what it drew: its sites truncated or repeated (repeats get distinct facility names), its primary and
secondary outcomes trimmed or repeated, its eligibility criteria cut at a line or extended with criterion lines
borrowed from the JSON templates (each at most once per study, written with the record's own bullet or numbering,
wrapped as the legacy textblocks are), its posted results kept or dropped, and a distinct NCT id (NCT9xxxxxxx). The
records are written in their own format: v2 studies as one NDJSON file, v1 studies (``FullStudies`` wrappers) as
another, XML studies as a ZIP (the classic bulk download); the pipeline detects formats per input.

Sampling is stratified (Latin hypercube): each drawn quantity takes the quantiles (i + 1/2) / N of its distribution,
i = 0 .. N-1, in a seeded random order, independently for each quantity (posted results and criteria length within
each study type, as they depend on it; sites and outcomes do not here, a simplification). So the corpus matches the
distributions below exactly up to rounding at any N, and is byte-for-byte the same for the same (N, seed).

The distributions, with their sources (searched 2026-12-03; where no figure was found, the estimate and its basis):

- **Study type**: interventional 78.5 %, observational 20.5 %, expanded access 1 %. Source: ClinicalTrials.gov
  "Trends, Charts, and Maps", Types of Registered Studies, as of 19 May 2020 (mirrored at
  https://nadutech.com/2020/05/20/trends-charts-and-maps-clinicaltrials-gov/): 339,863 studies, 266,997 (79 %)
  interventional. The split of the other 21 % was not in the text found: expanded access estimated at 1 % (3 of the
  55 XML fixtures are expanded access; such records are rare), the rest observational.
- **Posted results**: 15 % of interventional studies, 3.5 % of observational ones, none of expanded access (12.5 %
  overall). Source: the same page: 43,086 of 339,863 studies (12.7 %) with posted results, about 40,000 of them
  interventional (15 % of 266,997); the observational share is the remainder, 3,000 of about 70,000 (estimate).
  Earlier analysis: about 35 % of trials deposited results as of 2012 among those required
  (PLoS ONE 2012, https://journals.plos.org/plosone/article?id=10.1371/journal.pone.0037847).
  Results are carried only by templates that have them (v2 ``resultsSection``, XML ``clinical_results``, v1
  ``ResultsSection``); a study drawn without results has them removed. NCT02513394's results (1.4 MB, ten times
  the other v2 fixtures' 40-150 kB) are never used: with only 4 v2 templates, one v2 study with results in 4 would
  carry them and the corpus's bytes (and its floor) would be mostly that one record (an estimate: no figure for
  the size of results sections registry-wide was found).
- **Sites per study** (``locations`` / ``location``): none 11 %. Source: ClinicalTrials.gov "Trends, Charts, and
  Maps", Locations of Registered Studies, as of 24 April 2024 (http://prsinfo.clinicaltrials.gov/ct2/resources/trends):
  492,531 studies, location "not provided" 11 %. Of the studies with sites, one site 60 %. Source: "Update on the
  clinical trial landscape: analysis of ClinicalTrials.gov registration data, 2000-2020", Trials 2022
  (https://trialsjournal.biomedcentral.com/articles/10.1186/s13063-022-06569-2): 274,043 interventional trials,
  single site 60 % (Califf et al., JAMA 2012, https://pubmed.ncbi.nlm.nih.gov/22550198/: 66 % single-centre for
  2007-2010). Multi-site tail: no published distribution was found, so it is an estimate: of multi-site studies,
  2-10 sites 74 %, 11-50 18 %, 51-200 6.5 %, 201-1,000 1.35 %, 1,001-2,500 0.15 % (log-uniform within each bin).
  Basis: industry phase III drug trials have a median of 43-64 sites (IQR 17-118) (PLoS ONE 2022, PMC9321424,
  https://pmc.ncbi.nlm.nih.gov/articles/PMC9321424/) and are a small minority of multi-site studies; real records
  past 1,000 sites exist (NCT02465060 in tests/data/ctgov-xml has 1,218). The estimate gives about 9 sites per study
  on average and about 1 study in 2,000 (some 300 registry-wide) past 1,000 sites.
- **Primary outcomes**: 1: 80 %, 2: 13 %, 3: 5 %, 4-8: 2 % (the source's "> 3" is 3 %, its shares rounded to a sum
  of 101 %; expanded access: none). Source: crossover trials with
  results on ClinicalTrials.gov, n = 124 (Table 2 of PMC7336618,
  https://pmc.ncbi.nlm.nih.gov/articles/PMC7336618/table/Tab2): 1 (80 %), 2 (13 %), 3 (5 %), > 3 (3 %).
- **Secondary outcomes**: 0: 24 %, 1-2: 33 %, 3-5: 22 %, 6-10: 14 %, 11-20: 6 %, 21-50: 1 % (expanded access:
  none). No registry-wide figure was found: measured on the 160 fixture studies (v2, XML, v1 page) of tests/data.
- **Eligibility criteria length** (characters): log-normal, median 1,100 for interventional and expanded access,
  380 for observational studies, sigma 0.9, clipped to 60-20,000. No registry-wide figure for characters was found.
  Basis: measured on the fixtures (interventional median 1,116, deciles 308-3,641, i.e. sigma 0.96; observational
  median 380, deciles 141-1,010, sigma 0.77), consistent with the Clinical Trial Knowledge Base's 352,110 trials
  (Liu et al., J Biomed Inform 2021, https://pmc.ncbi.nlm.nih.gov/articles/PMC8407851/): typically 8-12 inclusion
  and 15-20 exclusion criteria per trial (as summarised at https://clinials.com/resources/blog/
  the-hidden-architecture-of-clinical-trials-what-350000-studies-reveal-about-patient-eligibility), i.e. some 25
  lines of 40-60 characters. Criteria hardly repeat within a study: 0.8 % of the fixtures' leaf criteria repeat
  another of the same study (14 of 1,795), and under 0.1 % of the corpus's (4 of 8,933 at 600 studies; it was 49 %
  while extended criteria repeated the record's own lines); the corpus has 11.2 leaf criteria per 1,000 characters
  (11.9 before), the fixtures 9.8, and no longer leaf criterion than before (1,040 characters at 600 studies).
"""

from __future__ import annotations

import copy
import functools
import math
import random
import re
import statistics
import textwrap
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from lxml import etree

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"
FIRST_ID = 90_000_000  # generated NCT ids: NCT90000000, NCT90000001, ...

# ------------------------------------------------------------------------------------------------ distributions
# (see the module docstring for each figure's source)
STUDY_TYPES = (("interventional", 0.785), ("observational", 0.205), ("expanded", 0.01))
RESULTS_SHARE = {"interventional": 0.15, "observational": 0.035, "expanded": 0.0}
NO_SITES = 0.11
ONE_SITE = 0.60  # of the studies with sites
MULTI_SITE_BINS = ((2, 10, 0.74), (11, 50, 0.18), (51, 200, 0.065), (201, 1000, 0.0135), (1001, 2500, 0.0015))
PRIMARY_OUTCOMES = ((1, 1, 0.80), (2, 2, 0.13), (3, 3, 0.05), (4, 8, 0.02))
SECONDARY_OUTCOMES = ((0, 0, 0.24), (1, 2, 0.33), (3, 5, 0.22), (6, 10, 0.14), (11, 20, 0.06), (21, 50, 0.01))
CRITERIA_MEDIAN = {"interventional": 1100.0, "observational": 380.0, "expanded": 1100.0}
CRITERIA_SIGMA = 0.9
CRITERIA_CLIP = (60, 20_000)
FORMATS = ("v2", "xml", "v1")
# Used as a template without its results only (see the module docstring)
RESULTS_TOO_LARGE = frozenset({"NCT02513394.json"})

# The legacy export wraps textblock lines at about 100 columns (the fixtures' longest lines are 95-99 characters)
XML_WRAP = 99

_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@dataclass(frozen=True)
class Shape:
    """What one generated study drew."""

    study_type: str
    results: bool
    sites: int
    primary: int
    secondary: int
    criteria_chars: int


@dataclass
class Template:
    """One real record to shape: its format, parsed document and what it has."""

    fmt: str
    name: str
    doc: Any  # dict for v2 / v1 (the FullStudies wrapper), lxml element for xml
    study_type: str
    has_results: bool


@dataclass
class Study:
    """A generated study: its id, format, what it drew and its record's bytes."""

    nct_id: str
    fmt: str
    template: str
    shape: Shape
    data: bytes


@dataclass
class Corpus:
    studies: list[Study]
    inputs: list[Path] = field(default_factory=list)

    def of_format(self, fmt: str) -> list[Study]:
        return [s for s in self.studies if s.fmt == fmt]


# ------------------------------------------------------------------------------------------------ sampling


def stratified(n: int, rng: random.Random) -> list[float]:
    """n points (i + 1/2) / n in a random order: the quantiles at which one quantity is drawn."""
    points = [(i + 0.5) / n for i in range(n)]
    rng.shuffle(points)
    return points


def from_bins(u: float, bins: Sequence[tuple[int, int, float]]) -> int:
    """The value at quantile u of a distribution given as (low, high, share) bins, log-uniform within a bin."""
    total = sum(share for _, _, share in bins)
    acc = 0.0
    for low, high, share in bins:
        p = share / total
        if u < acc + p or (low, high, share) == bins[-1]:
            t = min(max((u - acc) / p, 0.0), 1.0)
            return min(high, int(math.exp(math.log(low) + t * (math.log(high + 1) - math.log(low))))) if low else 0
        acc += p
    raise AssertionError("unreachable")


def sites_at(u: float) -> int:
    if u < NO_SITES:
        return 0
    v = (u - NO_SITES) / (1 - NO_SITES)
    return 1 if v < ONE_SITE else from_bins((v - ONE_SITE) / (1 - ONE_SITE), MULTI_SITE_BINS)


def normal_quantile(u: float) -> float:
    return statistics.NormalDist().inv_cdf(u)


def study_types(u: float) -> str:
    acc = 0.0
    for name, share in STUDY_TYPES:
        acc += share
        if u < acc:
            return name
    return STUDY_TYPES[-1][0]


def shapes(n: int, seed: int) -> list[Shape]:
    """What each of n studies draws, stratified per quantity (see the module docstring); results and criteria length,
    which depend on the study type, are stratified within each type."""
    rng = random.Random(seed)
    kinds = [study_types(u) for u in stratified(n, rng)]
    sites_u, prim_u, sec_u = (stratified(n, rng) for _ in range(3))
    results_u, crit_u = [0.0] * n, [0.0] * n
    for kind, _ in STUDY_TYPES:
        group = [i for i in range(n) if kinds[i] == kind]
        for target in (results_u, crit_u):
            for i, u in zip(group, stratified(len(group), rng), strict=True):
                target[i] = u
    out = []
    for i, kind in enumerate(kinds):
        expanded = kind == "expanded"
        chars = CRITERIA_MEDIAN[kind] * math.exp(CRITERIA_SIGMA * normal_quantile(crit_u[i]))
        out.append(
            Shape(
                study_type=kind,
                results=results_u[i] < RESULTS_SHARE[kind],
                sites=sites_at(sites_u[i]),
                primary=0 if expanded else from_bins(prim_u[i], PRIMARY_OUTCOMES),
                secondary=0 if expanded else from_bins(sec_u[i], SECONDARY_OUTCOMES),
                criteria_chars=int(min(max(chars, CRITERIA_CLIP[0]), CRITERIA_CLIP[1])),
            )
        )
    return out


# ------------------------------------------------------------------------------------------------ templates


def study_type_of(text: str | None) -> str:
    t = (text or "").lower()
    return (
        "observational"
        if t.startswith("observational")
        else "expanded"
        if t.startswith("expanded")
        else ("interventional")
    )


@functools.cache
def load_templates() -> list[Template]:
    """Every real record usable as a template, in a fixed order (cached: shaping works on copies)."""
    out = []
    for f in sorted((DATA / "ctgov-v2").glob("NCT????????.json")):
        doc = orjson.loads(f.read_bytes())
        kind = study_type_of(doc["protocolSection"]["designModule"].get("studyType"))
        results = bool(doc.get("resultsSection")) and f.name not in RESULTS_TOO_LARGE
        out.append(Template("v2", f.name, doc, kind, results))
    for f in sorted((DATA / "ctgov-xml").glob("NCT*.xml")):
        if "mismatch" in f.name or f.name.startswith("NCT03182660"):
            continue
        root = etree.fromstring(f.read_bytes(), _XML_PARSER)
        kind = study_type_of(root.findtext("study_type"))
        out.append(Template("xml", f.name, root, kind, root.find("clinical_results") is not None))
    page = orjson.loads((DATA / "ctgov-v1" / "covid-19-search-page.json").read_bytes())
    for w in page["FullStudiesResponse"]["FullStudies"]:
        p = w["Study"]["ProtocolSection"]
        kind = study_type_of(p["DesignModule"].get("StudyType"))
        name = p["IdentificationModule"]["NCTId"]
        out.append(Template("v1", f"covid-19-search-page.json:{name}", w, kind, bool(w["Study"].get("ResultsSection"))))
    return out


def pick(templates: list[Template], shape: Shape, rng: random.Random) -> Template:
    """A template of the shape's study type (with results if it drew results), the formats weighted equally."""
    fits = [t for t in templates if t.study_type == shape.study_type and (t.has_results or not shape.results)]
    per_format = {fmt: sum(t.fmt == fmt for t in fits) for fmt in FORMATS}
    return rng.choices(fits, weights=[1 / per_format[t.fmt] for t in fits])[0]


# ------------------------------------------------------------------------------------------------ shaping


def clone(doc: Any) -> Any:
    """A deep copy of JSON data (orjson's round trip: some 10 times faster than copy.deepcopy)."""
    return orjson.loads(orjson.dumps(doc))


def resized(items: list[Any], n: int, renamed: Callable[[Any, int], Any]) -> list[Any]:
    """items truncated to n, or repeated up to n (each repeat renamed with its number, so it is a distinct item)."""
    if n <= len(items) or not items:
        return items[:n]
    out = list(items)
    for k in range(len(items), n):
        item = items[k % len(items)]
        out.append(renamed(clone(item) if isinstance(item, dict) else copy.deepcopy(item), k + 1))
    return out


def criteria_text(text: str, chars: int, borrowed: list[str], nct: str, wrap: int | None = None) -> str:
    """text cut at the last line that ends within chars (at least one line), or extended with criterion lines of
    other records (``borrowed``, each used at most once per study, in an order seeded by the NCT id) until it reaches
    chars. Real criteria hardly repeat within a study (0.8 % of the fixtures' leaf criteria repeat another of the
    same study), so repeating the record's own lines would make the computable layers' work unlike the registry's."""
    lines = text.splitlines()
    if not lines:
        return text
    if len(text) >= chars:
        out, size = [lines[0]], len(lines[0])
        for line in lines[1:]:
            if size + 1 + len(line) > chars:
                break
            out.append(line)
            size += 1 + len(line)
        return "\n".join(out)
    own = {_BULLET.sub("", line).strip() for line in lines}
    styled = _bullet_style(lines, wrap)
    rng = random.Random(f"criteria:{nct}")
    out, size = list(lines), len(text)
    for line in rng.sample(borrowed, len(borrowed)):
        if size >= chars:
            break
        if line not in own:
            out.append(styled(line))
            size += 1 + len(out[-1])
    body = [line for line in lines[1:] if line.strip()] or lines
    k = 0
    while size < chars:  # only past the whole pool (some 60,000 characters): repeat the record's own lines
        out.append(body[k % len(body)])
        size += 1 + len(out[-1])
        k += 1
    return "\n".join(out)


# A criterion line's bullet or number ("* ", "  - ", "12. ", "3) "): a prefix one match can strip (linear: no nesting)
_BULLET = re.compile(r"^\s*(?:[-*\u2022]\s*|\d{1,3}[.)]\s+)?")


def _prefix(line: str) -> str:
    """line's indentation and bullet or number, if any."""
    m = _BULLET.match(line)
    return m.group(0) if m else ""


def _bullet_style(lines: list[str], wrap: int | None) -> Callable[[str], str]:
    """How the record writes its criteria, for borrowed lines to read as items of the same list: the bullet of its
    last item (or numbering continued; the indentation of its last line if no line has a bullet), the blank line
    before that item if it has one, and for legacy XML lines wrapped at ``wrap`` columns with the continuation under
    the text, as the registry's textblocks are (an unwrapped long line there reads as one with the next)."""
    marked = [i for i, line in enumerate(lines) if _prefix(line).strip()]
    at = marked[-1] if marked else max((i for i, line in enumerate(lines) if line.strip()), default=0)
    head = _prefix(lines[at]) if marked else lines[at][: len(lines[at]) - len(lines[at].lstrip())]
    gap = "\n" if at > 0 and not lines[at - 1].strip() else ""
    digits = "".join(c for c in head if c.isdigit())
    count = iter(range(int(digits or 0) + 1, 10**6))
    indent = head[: len(head) - len(head.lstrip())]

    def styled(text: str) -> str:
        first = f"{indent}{next(count)}{head.strip()[-1]} " if digits else head
        if wrap is None:
            return gap + first + text
        return gap + textwrap.fill(
            text, wrap, initial_indent=first, subsequent_indent=" " * len(first), break_on_hyphens=False
        )

    return styled


def criterion_lines(templates: list[Template]) -> list[str]:
    """The distinct criterion lines of the JSON templates (v2 and v1, whose criteria have one criterion per line, unlike
    the legacy XML textblocks, which wrap long ones), in template order: what criteria_text borrows from."""
    seen: dict[str, None] = {}
    for t in templates:
        if t.fmt == "v2":
            text = t.doc["protocolSection"].get("eligibilityModule", {}).get("eligibilityCriteria") or ""
        elif t.fmt == "v1":
            text = t.doc["Study"]["ProtocolSection"].get("EligibilityModule", {}).get("EligibilityCriteria") or ""
        else:
            continue
        for line in text.splitlines():
            # not a heading or a lead-in ("... any of the following:"), which would change the structure around it
            text_only = _BULLET.sub("", line).strip()
            if text_only and not text_only.endswith(":"):
                seen.setdefault(text_only, None)
    return list(seen)


def _named(key: str) -> Callable[[dict[str, Any], int], dict[str, Any]]:
    def rename(item: dict[str, Any], k: int) -> dict[str, Any]:
        item[key] = f"{item.get(key) or 'Study site'} ({k})"
        return item

    return rename


def shaped_v2(doc: dict[str, Any], shape: Shape, stock: dict[str, list[Any]], nct: str) -> dict[str, Any]:
    study = dict(doc)  # only the protocol section changes: the (large) results section is shared, not copied
    p = study["protocolSection"] = clone(doc["protocolSection"])
    p["identificationModule"]["nctId"] = nct
    if not shape.results:
        study.pop("resultsSection", None)
        study["hasResults"] = False
    clm = p.setdefault("contactsLocationsModule", {})
    locations = resized(clm.get("locations") or stock["locations"], shape.sites, _named("facility"))
    if locations:
        clm["locations"] = locations
    else:
        clm.pop("locations", None)
    om = p.setdefault("outcomesModule", {})
    for key, n in (("primaryOutcomes", shape.primary), ("secondaryOutcomes", shape.secondary)):
        items = resized(om.get(key) or stock[key], n, _named("measure"))
        if items:
            om[key] = items
        else:
            om.pop(key, None)
    em = p.get("eligibilityModule") or {}
    if em.get("eligibilityCriteria"):
        em["eligibilityCriteria"] = criteria_text(
            em["eligibilityCriteria"], shape.criteria_chars, stock["criterion_lines"], nct
        )
    return study


def shaped_v1(doc: dict[str, Any], shape: Shape, stock: dict[str, list[Any]], nct: str) -> dict[str, Any]:
    wrapper = dict(doc)  # only the protocol section changes (as in shaped_v2)
    study = wrapper["Study"] = dict(doc["Study"])
    p = study["ProtocolSection"] = clone(doc["Study"]["ProtocolSection"])
    p["IdentificationModule"]["NCTId"] = nct
    if not shape.results:
        study.pop("ResultsSection", None)
    clm = p.setdefault("ContactsLocationsModule", {})
    locations = resized(
        clm.get("LocationList", {}).get("Location") or stock["Location"], shape.sites, _named("LocationFacility")
    )
    if locations:
        clm["LocationList"] = {"Location": locations}
    else:
        clm.pop("LocationList", None)
    om = p.setdefault("OutcomesModule", {})
    for kind, n in (("Primary", shape.primary), ("Secondary", shape.secondary)):
        key = f"{kind}OutcomeList"
        items = resized(
            om.get(key, {}).get(f"{kind}Outcome") or stock[f"{kind}Outcome"], n, _named(f"{kind}OutcomeMeasure")
        )
        if items:
            om[key] = {f"{kind}Outcome": items}
        else:
            om.pop(key, None)
    em = p.get("EligibilityModule") or {}
    if em.get("EligibilityCriteria"):
        em["EligibilityCriteria"] = criteria_text(
            em["EligibilityCriteria"], shape.criteria_chars, stock["criterion_lines"], nct
        )
    return wrapper


# Where a missing element goes in a legacy record: before the first of these siblings (the XSD's order), else last.
_XML_AFTER = {
    "primary_outcome": ("secondary_outcome", "other_outcome", "number_of_arms", "enrollment", "condition"),
    "secondary_outcome": ("other_outcome", "number_of_arms", "enrollment", "condition"),
    "location": ("location_countries", "removed_countries", "link", "reference", "verification_date"),
}


def _xml_resized(root: Any, tag: str, n: int, stock: list[Any], name_path: str) -> None:
    items = root.findall(tag)
    if not items and n:
        anchor = next((root.find(t) for t in _XML_AFTER[tag] if root.find(t) is not None), None)
        first = copy.deepcopy(stock[0])
        if anchor is not None:
            anchor.addprevious(first)
        else:
            root.append(first)
        items = [first]
    for extra in items[n:]:
        root.remove(extra)
    last = items[min(n, len(items)) - 1] if n else None
    for k in range(len(items), n):
        item = copy.deepcopy(items[k % len(items)])
        name = item.find(name_path)
        if name is not None:
            name.text = f"{name.text or 'Study site'} ({k + 1})"
        last.addnext(item)
        last = item


def shaped_xml(root: Any, shape: Shape, stock: dict[str, list[Any]], nct: str) -> Any:
    doc = copy.deepcopy(root)
    doc.find("id_info/nct_id").text = nct
    if not shape.results and doc.find("clinical_results") is not None:
        doc.remove(doc.find("clinical_results"))
    _xml_resized(doc, "location", shape.sites, stock["location"], "facility/name")
    _xml_resized(doc, "primary_outcome", shape.primary, stock["primary_outcome"], "measure")
    _xml_resized(doc, "secondary_outcome", shape.secondary, stock["secondary_outcome"], "measure")
    block = doc.find("eligibility/criteria/textblock")
    if block is not None and block.text:
        block.text = criteria_text(block.text, shape.criteria_chars, stock["criterion_lines"], nct, XML_WRAP)
    return doc


def stock_items(templates: list[Template]) -> dict[str, dict[str, list[Any]]]:
    """Per format, the items a template without any borrows: the first template's that has them; and the criterion
    lines that extended criteria borrow (``criterion_lines``)."""
    stock: dict[str, dict[str, list[Any]]] = {fmt: {} for fmt in FORMATS}
    for t in templates:
        if t.fmt == "v2":
            p = t.doc["protocolSection"]
            found = {
                "locations": p.get("contactsLocationsModule", {}).get("locations"),
                "primaryOutcomes": p.get("outcomesModule", {}).get("primaryOutcomes"),
                "secondaryOutcomes": p.get("outcomesModule", {}).get("secondaryOutcomes"),
            }
        elif t.fmt == "v1":
            p = t.doc["Study"]["ProtocolSection"]
            om = p.get("OutcomesModule", {})
            found = {
                "Location": p.get("ContactsLocationsModule", {}).get("LocationList", {}).get("Location"),
                "PrimaryOutcome": om.get("PrimaryOutcomeList", {}).get("PrimaryOutcome"),
                "SecondaryOutcome": om.get("SecondaryOutcomeList", {}).get("SecondaryOutcome"),
            }
        else:
            found = {tag: t.doc.findall(tag) for tag in ("location", "primary_outcome", "secondary_outcome")}
        for key, items in found.items():
            if items and key not in stock[t.fmt]:
                stock[t.fmt][key] = items[:1]
    lines = criterion_lines(templates)
    for fmt in FORMATS:
        stock[fmt]["criterion_lines"] = lines
    return stock


def study_bytes(template: Template, shape: Shape, stock: dict[str, dict[str, list[Any]]], nct: str) -> bytes:
    if template.fmt == "v2":
        return orjson.dumps(shaped_v2(template.doc, shape, stock["v2"], nct))
    if template.fmt == "v1":
        return orjson.dumps(shaped_v1(template.doc, shape, stock["v1"], nct))
    return etree.tostring(shaped_xml(template.doc, shape, stock["xml"], nct), xml_declaration=True, encoding="UTF-8")


def build(n: int, seed: int = 14) -> Corpus:
    """n registry-like studies (see the module docstring), the same for the same (n, seed)."""
    templates = load_templates()
    stock = stock_items(templates)
    rng = random.Random(seed + 1)
    studies = []
    for i, shape in enumerate(shapes(n, seed)):
        template = pick(templates, shape, rng)
        nct = f"NCT{FIRST_ID + i:08d}"
        studies.append(Study(nct, template.fmt, template.name, shape, study_bytes(template, shape, stock, nct)))
    return Corpus(studies)


def covid(n: int) -> Corpus:
    """n studies of the v1 COVID-19 search page, cycled unchanged but for distinct NCT ids: the corpus of the
    README's earlier figures (bench/bulk.py's default), for comparison in the same run."""
    templates = [t for t in load_templates() if t.fmt == "v1"]
    studies = []
    for i in range(n):
        template = templates[i % len(templates)]
        wrapper = dict(template.doc)
        study = wrapper["Study"] = dict(template.doc["Study"])
        p = study["ProtocolSection"] = dict(study["ProtocolSection"])
        nct = f"NCT{FIRST_ID + i:08d}"
        p["IdentificationModule"] = {**p["IdentificationModule"], "NCTId": nct}
        om = p.get("OutcomesModule", {})
        shape = Shape(
            template.study_type,
            template.has_results,
            len(p.get("ContactsLocationsModule", {}).get("LocationList", {}).get("Location", [])),
            len(om.get("PrimaryOutcomeList", {}).get("PrimaryOutcome", [])),
            len(om.get("SecondaryOutcomeList", {}).get("SecondaryOutcome", [])),
            len(p.get("EligibilityModule", {}).get("EligibilityCriteria", "")),
        )
        studies.append(Study(nct, "v1", template.name, shape, orjson.dumps(wrapper)))
    return Corpus(studies)


def write(corpus: Corpus, folder: Path) -> list[Path]:
    """The corpus as pipeline inputs in folder: registry-v2.ndjson, registry-v1.ndjson, registry-xml.zip (those that
    have studies). Sets and returns ``corpus.inputs``."""
    folder.mkdir(parents=True, exist_ok=True)
    inputs = []
    for fmt in ("v2", "v1"):
        lines = [s.data for s in corpus.of_format(fmt)]
        if lines:
            path = folder / f"registry-{fmt}.ndjson"
            path.write_bytes(b"\n".join(lines) + b"\n")
            inputs.append(path)
    xml = corpus.of_format("xml")
    if xml:
        path = folder / "registry-xml.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for s in xml:
                z.writestr(f"{s.nct_id}.xml", s.data)
        inputs.append(path)
    corpus.inputs = inputs
    return inputs


def describe(corpus: Corpus) -> str:
    """One paragraph: the corpus's measured mix (what the test checks against the distributions above)."""
    studies = corpus.studies
    n = len(studies)
    sites = sorted(s.shape.sites for s in studies)
    crit = sorted(s.shape.criteria_chars for s in studies)
    share = {t: sum(s.shape.study_type == t for s in studies) / n for t, _ in STUDY_TYPES}
    formats = {f: sum(s.fmt == f for s in studies) for f in FORMATS}
    return (
        f"{n} studies ({', '.join(f'{k} {v}' for k, v in formats.items())}); "
        f"interventional {share['interventional']:.1%}, observational {share['observational']:.1%}, "
        f"expanded access {share['expanded']:.1%}; with results {sum(s.shape.results for s in studies) / n:.1%}; "
        f"sites: none {sum(x == 0 for x in sites) / n:.1%}, one {sum(x == 1 for x in sites) / n:.1%}, "
        f"mean {statistics.mean(sites):.1f}, max {sites[-1]}, >1,000: {sum(x > 1000 for x in sites)}; "
        f"outcomes per study: primary {statistics.mean(s.shape.primary for s in studies):.2f}, "
        f"secondary {statistics.mean(s.shape.secondary for s in studies):.2f}; "
        f"criteria median {crit[n // 2]} chars; "
        f"{sum(len(s.data) for s in studies) / 1e6:.1f} MB of records"
    )
