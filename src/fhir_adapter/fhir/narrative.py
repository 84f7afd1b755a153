"""Generated narratives: ``text`` (status ``generated``, an XHTML ``div``) for every resource of a trial's bundle.

https://hl7.org/fhir/R5/narrative.html (R4: https://hl7.org/fhir/R4/narrative.html). The ``div`` shows the facts a
clinician scans first (a study's title, NCT id, status, phase, conditions, sponsor, enrollment, dates and sites; the
criteria of an eligibility EvidenceVariable under their headings; a protocol's actions with their doses and timing
...); a type without a renderer here gets a minimal one (its type and title or name), so a resource another mapper
adds is never left without. Only ``div``, ``p``, ``b``, ``ul``, ``ol`` and ``li`` are written, with no attribute
but the XHTML namespace on the root, and every value is escaped (``&``, ``<``, ``>``; characters XML 1.0 forbids are
dropped), so the narrative passes the narrative rules (txt-1, txt-2) whatever the registry text holds.

Narratives are made from the R5 resources after mapping (``narratives``); the R4 bundle carries the narrative of the
R5 resource it was converted from (the same facts: ``carry_to_r4``), so R4 output stays a function of the R5
resources. Readers ignore ``text``. Cheap by design: one pass of string joins per resource, no XML library.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, TEXT_SLOT

__all__ = ["XHTML_NAMESPACE", "carry_to_r4", "narrative", "narratives", "with_text"]

XHTML_NAMESPACE = "http://www.w3.org/1999/xhtml"
Lookup = Callable[[JSON | None], JSON | None]

# Resource types that are not DomainResources have no ``text`` (https://hl7.org/fhir/R5/resource.html).
_NO_TEXT = frozenset({"Binary", "Bundle", "Parameters"})
# C0 controls other than tab, newline and carriage return are not XML 1.0 characters, nor are U+FFFE and U+FFFF.
_NOT_XML = dict.fromkeys([*(c for c in range(32) if c not in (9, 10, 13)), 0xFFFE, 0xFFFF])
_NOT_XML_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # the same characters, to find them
_TO_ESCAPE = re.compile(r"[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # those and the characters ``esc`` escapes
# Elements of a resource that come before ``text`` in FHIR's element order (kept first when ``text`` is added).
_BEFORE_TEXT = ("resourceType", "id", "meta", "implicitRules", "language")
_MAX_DEPTH = 3  # nested PlanDefinition actions shown (phases -> drugs); deeper levels are in the resource


def esc(value: object) -> str:
    """``value`` as XHTML text content: XML-forbidden characters dropped, ``&``, ``<`` and ``>`` escaped."""
    text = str(value)
    if text.isprintable() and "&" not in text and "<" not in text and ">" not in text:
        return text  # most values: nothing to drop or escape (the C0 controls and U+FFFE/U+FFFF are not printable)
    if not _TO_ESCAPE.search(text):  # text with tabs, newlines or other non-printable but allowed characters
        return text
    if _NOT_XML_CHAR.search(text):  # rare: translate (a lookup per character) only for text that needs it
        text = text.translate(_NOT_XML)
    # html.escape(text, quote=False), inlined: this runs for every value of every narrative
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cc_text(cc: JSON | None) -> str:
    """What a CodeableConcept says: its text, else its first coding's display or code ("" when neither)."""
    if not cc:
        return ""
    if cc.get("text"):
        return str(cc["text"])
    for c in cc.get("coding", []):
        if c.get("display") or c.get("code"):
            return str(c.get("display") or c.get("code"))
    return ""


def _items(rows: Iterable[tuple[str, object]]) -> str:
    """A ``ul`` of "label: value" items, rows with an empty value left out ("" when none is left). The labels are
    this module's own words (no character to escape), so only the values are escaped."""
    lis = "".join([f"<li>{label}: {esc(value)}</li>" for label, value in rows if value not in (None, "", 0)])
    return f"<ul>{lis}</ul>" if lis else ""


def _section(heading: str, texts: list[str], ordered: bool = False) -> str:
    """A bold heading (this module's own words) and a list of texts ("" when there are none). ``esc`` works character
    by character, so when it leaves the texts' concatenation as it is it leaves each text as it is: one test for the
    whole list (an eligibility's criteria) instead of one call per text."""
    if not texts:
        return ""
    tag = "ol" if ordered else "ul"
    raw = "".join(texts) if len(texts) > 1 else ""
    lis = "</li><li>".join(texts if raw and esc(raw) == raw else map(esc, texts))
    return f"<p><b>{heading}</b></p><{tag}><li>{lis}</li></{tag}>"


def _heading(title: object) -> str:
    return f"<p><b>{esc(title)}</b></p>"


def _name(resource: JSON | None) -> str:
    """A resource's human name: ``title``, ``name`` (a string, or a HumanName's text / given + family) or ""."""
    if not resource:
        return ""
    if resource.get("title"):
        return str(resource["title"])
    name = resource.get("name")
    if isinstance(name, str):
        return name
    for n in name if isinstance(name, list) else []:
        if isinstance(n, dict):
            text = n.get("text") or " ".join([*n.get("given", []), n.get("family", "")]).strip()
            if text:
                return str(text)
    return ""


def _period(period: JSON | None) -> str:
    if not period:
        return ""
    start, end = period.get("start"), period.get("end")
    if start and end:
        return f"{start} to {end}"
    return f"from {start}" if start else (f"until {end}" if end else "")


def _address(address: JSON | None) -> str:
    a = address or {}
    return ", ".join([str(a[k]) for k in ("city", "state", "country") if a.get(k)])


# --- ResearchStudy (https://hl7.org/fhir/R5/researchstudy.html) -------------------------------------------------


def _study_status(rs: JSON) -> str:
    """The study's state: the progressStatus in research-study-status or ct.gov's status (R5), else ``status``.

    ct.gov UNKNOWN ("not verified for 2+ years") is always said, whatever the concept's text says first."""
    status_systems = {terminology.system("research-study-status"), terminology.ctgov_system("overall-status")}
    ctgov = terminology.ctgov_system("overall-status")
    for p in rs.get("progressStatus", []):
        state = p.get("state") or {}
        codings = state.get("coding", [])
        if any(c.get("system") in status_systems for c in codings):
            text = cc_text(state)
            unknown = any(c.get("system") == ctgov and c.get("code") == "UNKNOWN" for c in codings)
            if unknown and "unknown" not in text.lower():
                text += " (ClinicalTrials.gov status Unknown: not verified for over 2 years)"
            return text
    return str(rs.get("status") or "")


def _sponsor(rs: JSON, look: Lookup) -> str:
    system = terminology.system("research-study-party-role")
    for party in rs.get("associatedParty", []):
        if any(
            c.get("system") == system and c.get("code") == "lead-sponsor"
            for c in party.get("role", {}).get("coding", [])
        ):
            return str(party.get("name") or _name(look(party.get("party"))))
    return _name(look(rs.get("sponsor")))  # R4 shape


def _enrollment(rs: JSON) -> str:
    rec = rs.get("recruitment") or {}
    if rec.get("actualNumber") is not None:
        return f"{rec['actualNumber']} (actual)"
    if rec.get("targetNumber") is not None:
        return f"{rec['targetNumber']} (target)"
    return ""


def _research_study(rs: JSON, look: Lookup) -> str:
    nct = terminology.system("nct")
    ident = next((i.get("value") for i in rs.get("identifier", []) if i.get("system") == nct), None)
    rows = [
        ("NCT id", ident),
        ("Status", _study_status(rs)),
        ("Phase", cc_text(rs.get("phase"))),
        ("Conditions", "; ".join(t for t in map(cc_text, rs.get("condition", [])) if t)),
        ("Sponsor", _sponsor(rs, look)),
        ("Enrollment", _enrollment(rs)),
        ("Dates", _period(rs.get("period"))),
        ("Sites", len(rs.get("site", []))),
    ]
    return _heading(rs.get("title") or "Research study") + _items(rows)


# --- EvidenceVariable (https://hl7.org/fhir/R5/evidencevariable.html) --------------------------------------------


def _evidence_variable(ev: JSON, look: Lookup) -> str:
    """Title, then the criteria under the heading they sat under (linkId ``inc-N`` / ``exc-N``), then any other
    characteristic (age, sex, an outcome's measure); the description when no criterion is listed."""
    inc: list[str] = []
    exc: list[str] = []
    other: list[str] = []
    for c in ev.get("characteristic", []):
        text = c.get("description") or cc_text(c.get("definitionCodeableConcept"))
        if not text:
            continue
        key = str(c.get("linkId") or "")[:3]
        if key == "inc":
            inc.append(str(text))
        elif key == "exc":
            exc.append(str(text))
        else:
            other.append("Excluded: " + str(text) if c.get("exclude") else str(text))
    out = _heading(_name(ev) or "Evidence variable")
    if not inc and not exc and ev.get("description"):
        out += f"<p>{esc(ev['description'])}</p>"
    out += _section("Inclusion criteria", inc, ordered=True)
    out += _section("Exclusion criteria", exc, ordered=True)
    return out + _section("Characteristics", other)


# --- PlanDefinition, ActivityDefinition (https://hl7.org/fhir/R5/plandefinition.html) ----------------------------


def _timing(action: JSON) -> str:
    """An action's timing in words: its code's text, else its repeat (``every 28 d, 2 times``)."""
    timing = action.get("timingTiming") or {}
    if cc_text(timing.get("code")):
        return cc_text(timing.get("code"))
    rep = timing.get("repeat") or {}
    parts = [f"every {rep['period']:g} {rep.get('periodUnit', '')}".strip()] if rep.get("period") else []
    if rep.get("count"):
        parts.append(f"{rep['count']} times")
    return ", ".join(parts)


def _dose_text(activity: JSON | None) -> str:
    return "; ".join(str(d["text"]) for d in (activity or {}).get("dosage", []) if d.get("text"))


def _action_items(actions: list[JSON], look: Lookup, depth: int) -> str:
    """A ``ul`` of actions: title, what it gives (description or its ActivityDefinition's dosage) and timing."""
    lis = []
    for a in actions:
        what = a.get("description") or a.get("textEquivalent")
        if not what and a.get("definitionCanonical"):
            what = _dose_text(look({"reference": a["definitionCanonical"]}))
        parts = [p for p in (a.get("title"), what, _timing(a)) if p]
        nested = _action_items(a.get("action", []), look, depth + 1) if depth < _MAX_DEPTH else ""
        if parts or nested:
            lis.append(f"<li>{esc(' - '.join(map(str, parts)))}{nested}</li>")
    return f"<ul>{''.join(lis)}</ul>" if lis else ""


def _plan_definition(pd: JSON, look: Lookup) -> str:
    out = _heading(_name(pd) or "Plan definition")
    actions = _action_items(pd.get("action", []), look, 1)
    return out + (f"<p><b>Actions</b></p>{actions}" if actions else "")


def _activity_definition(ad: JSON, look: Lookup) -> str:
    rows = [
        ("Kind", ad.get("kind")),
        ("Product", cc_text(ad.get("productCodeableConcept"))),
        ("Code", cc_text(ad.get("code"))),
    ]
    doses = [str(d["text"]) for d in ad.get("dosage", []) if d.get("text")]
    return _heading(_name(ad) or "Activity definition") + _items(rows) + _section("Dosage", doses)


# --- People, places and the rest ----------------------------------------------------------------------------------


def _contacts(resource: JSON) -> str:
    return ", ".join(
        [f"{t.get('system', 'contact')} {t['value']}" for t in resource.get("telecom", []) if t.get("value")]
    )


def _organization(org: JSON, look: Lookup) -> str:
    rows = [
        ("Type", "; ".join(t for t in map(cc_text, org.get("type", [])) if t)),
        ("Address", "; ".join(a for a in map(_address, org.get("address", [])) if a)),
        ("Contact", _contacts(org)),
    ]
    return _heading(_name(org) or "Organization") + _items(rows)


def _practitioner(p: JSON, look: Lookup) -> str:
    return _heading(_name(p) or "Practitioner") + _items([("Contact", _contacts(p))])


def _practitioner_role(role: JSON, look: Lookup) -> str:
    rows = [
        ("Practitioner", _name(look(role.get("practitioner")))),
        ("Organization", _name(look(role.get("organization")))),
        ("Role", "; ".join(t for t in map(cc_text, role.get("code", [])) if t)),
        ("Contact", _contacts(role)),
    ]
    return _heading("Practitioner role") + _items(rows)


def _location(loc: JSON, look: Lookup) -> str:
    rows = [("Address", _address(loc.get("address"))), ("Status", loc.get("status")), ("Contact", _contacts(loc))]
    return _heading(_name(loc) or "Location") + _items(rows)


def _group(group: JSON, look: Lookup) -> str:
    lines = []
    for c in group.get("characteristic", []):
        value = cc_text(c.get("valueCodeableConcept")) or c.get("valueBoolean")
        text = ": ".join(str(x) for x in (cc_text(c.get("code")), value) if x not in (None, ""))
        if text:
            lines.append(("Excluded: " if c.get("exclude") else "") + text)
    rows = [("Quantity", group.get("quantity"))]
    return _heading(_name(group) or "Group") + _items(rows) + _section("Characteristics", lines)


def _provenance(prov: JSON, look: Lookup) -> str:
    rows = [
        ("Recorded", prov.get("recorded")),
        ("Activity", cc_text(prov.get("activity"))),
        ("Agent", "; ".join(str((a.get("who") or {}).get("display", "")) for a in prov.get("agent", []))),
        ("Source", "; ".join(str((e.get("what") or {}).get("display", "")) for e in prov.get("entity", []))),
        ("Resources", len(prov.get("target", []))),
    ]
    return _heading("Provenance") + _items(rows)


def _generic(resource: JSON, look: Lookup) -> str:
    """Any other type: its type, title or name, and status."""
    rtype = str(resource.get("resourceType") or "Resource")
    return _heading(_name(resource) or rtype) + _items([("Type", rtype), ("Status", resource.get("status"))])


_RENDERERS: dict[str, Callable[[JSON, Lookup], str]] = {
    "ResearchStudy": _research_study,
    "EvidenceVariable": _evidence_variable,
    "PlanDefinition": _plan_definition,
    "ActivityDefinition": _activity_definition,
    "Organization": _organization,
    "Practitioner": _practitioner,
    "PractitionerRole": _practitioner_role,
    "Location": _location,
    "Group": _group,
    "Provenance": _provenance,
}


def narrative(resource: JSON, look: Lookup) -> JSON:
    """The ``text`` (Narrative) of one resource; ``look`` resolves its references inside the bundle."""
    body = _RENDERERS.get(str(resource.get("resourceType")), _generic)(resource, look)
    return {"status": "generated", "div": f'<div xmlns="{XHTML_NAMESPACE}">{body}</div>'}


def with_text(resource: JSON, text: JSON) -> JSON:
    """``resource`` with ``text`` in its place in FHIR's element order (after id, meta, implicitRules, language)."""
    plain = "meta" not in resource and "implicitRules" not in resource and "language" not in resource
    if plain and "id" in resource and "resourceType" in resource:  # the mappers' resources: that order, one display
        return {"resourceType": resource["resourceType"], "id": resource["id"], "text": text, **resource}
    out = {k: resource[k] for k in _BEFORE_TEXT if k in resource}
    out["text"] = text
    out.update(resource)
    return out


def _lookup(resources: dict[str, JSON]) -> Lookup:
    """Resolves a reference by fullUrl, or a canonical by a resource's ``url`` (that index is made on the first
    canonical looked up: most bundles resolve none, and ``resources`` does not change while it is in use)."""
    by_url: dict[str, JSON] = {}
    indexed = False

    def look(ref: JSON | None) -> JSON | None:
        nonlocal indexed
        target = (ref or {}).get("reference")
        if not isinstance(target, str):
            return None
        found = resources.get(target)
        if found:
            return found
        if not indexed:
            by_url.update((r["url"], r) for r in resources.values() if isinstance(r.get("url"), str))
            indexed = True
        return by_url.get(target)

    return look


def narratives(resources: dict[str, JSON]) -> dict[str, JSON]:
    """fullUrl -> the resource with a generated ``text`` (one it already has is kept; types with no ``text``, such
    as Binary, are left alone), in the same order. A resource whose ``text`` is a Context's placeholder
    (``common.TEXT_SLOT``) is changed in place: its narrative fills that slot (dropped for a type with no ``text``)."""
    look = _lookup(resources)
    out: dict[str, JSON] = {}
    for url, r in resources.items():
        text = r.get("text")
        if text is TEXT_SLOT:  # a Context's placeholder (common.TEXT_SLOT): filled in place, the resource not copied
            if r.get("resourceType") in _NO_TEXT:
                del r["text"]
            else:
                r["text"] = narrative(r, look)
            out[url] = r
            continue
        skip = "text" in r or r.get("resourceType") in _NO_TEXT
        out[url] = r if skip else with_text(r, narrative(r, look))
    return out


def carry_to_r4(r5: dict[str, JSON], r4: dict[str, JSON]) -> dict[str, JSON]:
    """The R4 resources, each with the narrative of the R5 resource it was converted from (same fullUrl; the R4
    eligibility Group, which has its own fullUrl, takes its EvidenceVariable's); a resource with no R5 source gets
    its own. ``r5``: the R5 resources with their narratives (``narratives``)."""
    eligibility = {}
    for res in r5.values():
        ref = ((res.get("recruitment") or {}).get("eligibility") or {}).get("reference")
        if res.get("resourceType") == "ResearchStudy" and ref in r5:
            eligibility = r5[ref]
    look = _lookup(r4)
    out: dict[str, JSON] = {}
    for url, r in r4.items():
        source = r5.get(url) or (eligibility if r.get("resourceType") == "Group" and url not in r5 else None)
        if "text" in r or r.get("resourceType") in _NO_TEXT:
            out[url] = r
        elif source is not None and "text" in source:
            out[url] = with_text(r, source["text"])
        else:
            out[url] = with_text(r, narrative(r, look))
    return out
