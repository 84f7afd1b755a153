"""The oversight facts and the plan to share individual participant data (IPD), read the same way from API v2 JSON
(``oversightModule``, ``ipdSharingStatementModule``; API v1 is renamed into that shape) and from legacy XML
(``oversight_info``, ``patient_data``) into ``Trial.oversight`` and ``Trial.data_sharing``.

https://clinicaltrials.gov/data-api/about-api/study-data-structure describes both modules. The IPD codes are the
API v2 tokens; the legacy wording of each is in ``mappings/ctgov-ipd-sharing.json`` (with its sources). A value
that cannot be read (an unknown code is kept as given, with a warning; a flag that is not yes/no stays in
``Trial.unmapped``) and every field of these modules not named here stays in ``Trial.unmapped``, as before.
"""

from __future__ import annotations

import json
from functools import cache
from typing import TYPE_CHECKING

from fhir_adapter import terminology
from fhir_adapter.issues import Issue
from fhir_adapter.model import DataSharing, Oversight, Trial
from fhir_adapter.sources.fields import JsonReader, warning

if TYPE_CHECKING:  # the XML side is imported by the XML reader only: a JSON run loads no lxml (issue 14: start-up)
    from lxml import etree

    from fhir_adapter.sources.ctgov_xml_fields import XmlReader

__all__ = ["ipd_code", "read_json_oversight", "read_xml_oversight"]

# (Oversight attribute, API v2 oversightModule key, legacy XML oversight_info element)
_FLAGS = (
    ("has_dmc", "oversightHasDmc", "has_dmc"),
    ("fda_regulated_drug", "isFdaRegulatedDrug", "is_fda_regulated_drug"),
    ("fda_regulated_device", "isFdaRegulatedDevice", "is_fda_regulated_device"),
    ("unapproved_device", "isUnapprovedDevice", "is_unapproved_device"),
    ("ppsd", "isPpsd", "is_ppsd"),
    ("us_export", "isUsExport", "is_us_export"),
    ("fdaaa801_violation", "fdaaa801Violation", "fdaaa801_violation"),
)
_V2_OVERSIGHT = "protocolSection.oversightModule"
_V2_SHARING = "protocolSection.ipdSharingStatementModule"


@cache
def _spellings(axis: str) -> dict[str, str]:
    """Every accepted spelling of an IPD code (the token and its legacy wording, lower-cased) -> the token."""
    with (terminology.mappings_dir() / "ctgov-ipd-sharing.json").open(encoding="utf-8") as fh:
        table: dict[str, list[str]] = json.load(fh)[axis]
    return {spelling.lower(): token for token, wording in table.items() for spelling in (token, *wording)}


def ipd_code(axis: str, raw: str, location: str, issues: list[Issue]) -> str:
    """The API v2 token of an IPD code (``axis``: ``ipd-sharing`` or ``ipd-info-type``) in any registry spelling;
    an unknown one is kept as given, with a warning."""
    token = _spellings(axis).get(raw.strip().lower())
    if token is None:
        issues.append(warning(location, f"unknown {axis} code {raw[:40]!r}; kept as given"))
        return raw
    return token


def _filled(d: DataSharing) -> DataSharing | None:
    return d if d != DataSharing() else None


def read_json_oversight(r: JsonReader, t: Trial) -> None:
    """``oversightModule`` and ``ipdSharingStatementModule`` of an API v2 study."""
    if (o := r.sub(_V2_OVERSIGHT)) is not None:
        t.oversight = Oversight(**{attr: o.flag(key) for attr, key, _ in _FLAGS})
    if (m := r.sub(_V2_SHARING)) is None:
        return
    raw = m.text("ipdSharing")
    kinds = [ipd_code("ipd-info-type", v, p, r.issues) for p, item in m.items("infoTypes") if (v := r.text_at(p, item))]
    t.data_sharing = _filled(
        DataSharing(
            ipd_sharing=None if raw is None else ipd_code("ipd-sharing", raw, f"{m.path}.ipdSharing", r.issues),
            description=m.text("description"),
            info_types=kinds,
            time_frame=m.text("timeFrame"),
            access_criteria=m.text("accessCriteria"),
            url=m.text("url"),
        )
    )


def read_xml_oversight(r: XmlReader, t: Trial) -> None:
    """``oversight_info`` and ``patient_data`` of a legacy ``<clinical_study>`` (older children such as
    ``oversight_info/authority`` have no place in the model and stay in ``Trial.unmapped``)."""
    oi = r.one(r.root, "oversight_info")
    if oi is not None:
        t.oversight = Oversight(**{attr: r.flag(oi, tag) for attr, _, tag in _FLAGS})
    pd = r.one(r.root, "patient_data")
    if pd is None:
        return
    raw = r.text(pd, "sharing_ipd")
    where = "patient_data/ipd_info_type"
    t.data_sharing = _filled(
        DataSharing(
            ipd_sharing=None if raw is None else ipd_code("ipd-sharing", raw, "patient_data/sharing_ipd", r.issues),
            description=_text(r, pd, "ipd_description"),
            info_types=[ipd_code("ipd-info-type", v, where, r.issues) for v in r.texts(pd, "ipd_info_type")],
            time_frame=_text(r, pd, "ipd_time_frame"),
            access_criteria=_text(r, pd, "ipd_access_criteria"),
            url=r.text(pd, "ipd_url"),
        )
    )


def _text(r: XmlReader, parent: etree._Element, tag: str) -> str | None:
    """A free-text element, reflowed when the legacy layout wrapped it over lines (as ``Trial.unmapped`` kept it)."""
    from fhir_adapter.sources.ctgov_xml_doc import reflow_textblock, text_of  # loaded by the XML reader already

    el = r.one(parent, tag)
    if el is None:
        return None
    text = text_of(el)
    return (reflow_textblock(text) if "\n" in text else text.strip()) or None
