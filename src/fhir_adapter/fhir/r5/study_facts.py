"""Oversight facts, has-results and the data-sharing plan (R5) <-> the Trial. https://hl7.org/fhir/R5/researchstudy.html

- Oversight facts and has-results: one ``ResearchStudy.classifier`` each, readable text ``"<fact>: yes|no"``; the
  facts HL7's ``research-study-classifiers`` code system has a code for (FDA-regulated drug / device) also carry the
  code when true. The reverse reads this text, HL7's ct.gov example's text ("Has Results: False",
  "Oversight Classifier: isFdaRegulatedDrug True"), a bare official code, and the ``has-results`` extension
  fhir-adapter wrote before issue 11.
- The data-sharing plan (R5 has no element for it): a ``note`` whose text is the plan in words, with the complex
  extension ``data-sharing`` holding its parts so that the reverse is exact.

Labels, codes and sources: ``mappings/research-study-registration.json``.
"""

from __future__ import annotations

from typing import Any

from fhir_adapter import terminology
from fhir_adapter.fhir.common import JSON, ext_url, get_extension
from fhir_adapter.model import DataSharing, Oversight, Trial

_DATA_SHARING = "data-sharing"
# (DataSharing attribute, sub-extension url, value[x] key) of the data-sharing extension's parts.
_SHARING_PARTS = (
    ("ipd_sharing", "ipd-sharing", "valueCode"),
    ("description", "description", "valueMarkdown"),
    ("info_types", "info-type", "valueCode"),
    ("time_frame", "time-frame", "valueString"),
    ("access_criteria", "access-criteria", "valueString"),
    ("url", "url", "valueUrl"),
)


def _yes_no(value: bool) -> str:
    words: dict[str, str] = terminology.registration_table()["yesNo"]
    return words["true" if value else "false"]


def _classifier(label: str, value: bool, code: str | None, display: str | None) -> JSON:
    """A classifier concept without empty elements (``bundle`` does not prune ``classifier``): the text always, the
    code when the fact is true and has one."""
    text = f"{label}: {_yes_no(value)}"
    if not (code and value):
        return {"text": text}
    coding = {"system": terminology.system("research-study-classifiers"), "code": code}
    if display:
        coding["display"] = display
    return {"coding": [coding], "text": text}


def to_classifiers(t: Trial) -> list[JSON]:
    """``ResearchStudy.classifier``: one concept per oversight fact the record states, then has-results."""
    table = terminology.registration_table()
    out = [
        _classifier(row["label"], value, row.get("code"), row.get("display"))
        for row in table["oversight"]
        if (value := getattr(t.oversight, row["attr"])) is not None
    ]
    if t.has_results is not None:
        out.append(_classifier(table["hasResults"]["label"], t.has_results, None, None))
    return out


def _sharing_text(d: DataSharing) -> str:
    spec = terminology.registration_table()["dataSharing"]
    labels = spec["labels"]
    parts = [
        f"{labels['ipd_sharing']}: {spec['ipdSharing'].get(d.ipd_sharing, d.ipd_sharing)}" if d.ipd_sharing else "",
        f"{labels['description']}: {d.description}" if d.description else "",
        f"{labels['info_types']}: {', '.join(spec['infoTypes'].get(i, i) for i in d.info_types)}"
        if d.info_types
        else "",
        f"{labels['time_frame']}: {d.time_frame}" if d.time_frame else "",
        f"{labels['access_criteria']}: {d.access_criteria}" if d.access_criteria else "",
        f"{labels['url']}: {d.url}" if d.url else "",
    ]
    return "\n\n".join([spec["title"], *(p for p in parts if p)])


def to_data_sharing_note(t: Trial) -> JSON | None:
    """The data-sharing plan as a ``note`` (readable text + the ``data-sharing`` extension); None without a plan.
    Without empty elements (the parts' empty values left out, the text never empty)."""
    d = t.data_sharing
    if d is None:
        return None
    subs: list[JSON] = []
    for attr, url, key in _SHARING_PARTS:
        value = getattr(d, attr)
        subs += [{"url": url, key: v} for v in (value if isinstance(value, list) else [value]) if v]
    ext = {"url": ext_url(_DATA_SHARING), "extension": subs} if subs else None
    return {"extension": [ext], "text": _sharing_text(d)} if ext else {"text": _sharing_text(d)}


# ---------------------------------------------------------------------------------------------------- reverse


def _fact_of(text: str) -> tuple[str, bool] | None:
    """(label, value) of a classifier text: ours ("FDA-regulated drug: yes") or HL7's example's ("Has Results:
    False", "Oversight Classifier: isFdaRegulatedDrug True")."""
    table = terminology.registration_table()
    prefix = table["hl7ExampleOversightPrefix"]
    if text.startswith(prefix):
        label, _, word = text[len(prefix) :].rpartition(" ")
    else:
        label, _, word = text.rpartition(": ")
    words = {w: v == "true" for v, w in table["yesNo"].items()} | {"true": True, "false": False}
    value = words.get(word.strip().lower())
    return None if value is None or not label else (label.strip(), value)


def _labels() -> dict[str, str]:
    """Every label a fact is read under (ours, ct.gov's field name, HL7's example's) -> Oversight attribute or
    ``has_results``."""
    table = terminology.registration_table()
    out = {name: row["attr"] for row in table["oversight"] for name in (row["label"], row["ctgov"])}
    results = table["hasResults"]
    return out | {name: "has_results" for name in (results["label"], results["ctgov"], results["hl7Example"])}


def read_classifiers(rs: JSON, t: Trial) -> None:
    """Oversight facts and has-results of ``rs`` into ``t``."""
    labels = _labels()
    by_code = {row["code"]: row["attr"] for row in terminology.registration_table()["oversight"] if row.get("code")}
    system = terminology.system("research-study-classifiers")
    oversight = Oversight()
    for cc in rs.get("classifier", []):
        fact = _fact_of(str(cc.get("text", "")))
        attr = labels.get(fact[0]) if fact else None
        if fact is not None and attr == "has_results":
            t.has_results = fact[1]
        elif fact is not None and attr is not None:
            setattr(oversight, attr, fact[1])
        else:  # a bare official code (another tool's study) says the fact holds
            for c in cc.get("coding", []):
                if c.get("system") == system and c.get("code") in by_code:
                    setattr(oversight, by_code[c["code"]], True)
    t.oversight = oversight
    old = get_extension(rs, "has-results")  # before issue 11
    if old is not None and t.has_results is None:
        t.has_results = old.get("valueBoolean")


def _sharing_of(ext: JSON | None) -> DataSharing:
    d = DataSharing()
    subs = (ext or {}).get("extension", [])
    for attr, url, key in _SHARING_PARTS:
        values: list[Any] = [s[key] for s in subs if s.get("url") == url and key in s]
        if attr == "info_types":
            d.info_types = [str(v) for v in values]
        elif values:
            setattr(d, attr, values[0])
    return d


def is_data_sharing_note(note: JSON) -> bool:
    """True for the note :func:`to_data_sharing_note` writes (an empty plan has the title alone as text)."""
    title: str = terminology.registration_table()["dataSharing"]["title"]
    return get_extension(note, _DATA_SHARING) is not None or (not note.get("extension") and note.get("text") == title)


def read_data_sharing(rs: JSON, t: Trial) -> None:
    """The data-sharing plan of ``rs`` (its data-sharing note) into ``t``."""
    note = next((n for n in rs.get("note", []) if is_data_sharing_note(n)), None)
    t.data_sharing = _sharing_of(get_extension(note, _DATA_SHARING)) if note is not None else None
