"""The one-line ``<study_design>`` of 2014-era legacy ClinicalTrials.gov XML, read into ``Trial.design``.

Before ``<study_design_info>`` the legacy record gave the design as one string of ``Label: value`` parts separated
by commas ("Allocation: Randomized, Endpoint Classification: Safety/Efficacy Study, Intervention Model: Parallel
Assignment, Masking: Double Blind (Subject, Investigator), Primary Purpose: Treatment"; "Observational Model:
Cohort, Time Perspective: Prospective"). A comma starts a new part only where a label follows, so a masking that
lists who is masked stays whole. Each value goes through the ConceptMaps of ``mappings/`` (``terminology.normalize``,
``terminology.legacy_masking``) as the ``study_design_info`` elements do. A part with no place in ``Design``
(Endpoint Classification), a value no ConceptMap knows, and a value that disagrees with ``study_design_info`` are
kept as text in ``Trial.unmapped["study_design"]`` with a warning.
"""

from __future__ import annotations

import re

from fhir_adapter import terminology
from fhir_adapter.model import Design, Trial
from fhir_adapter.sources.ctgov_xml_fields import XmlReader
from fhir_adapter.sources.fields import v2_token

__all__ = ["design_parts", "read_study_design"]

# "Label: value" at the start of a comma-separated piece: a capitalised label of at most 41 characters (bounded,
# so a piece is scanned a bounded number of times), then the value.
_LABELLED = re.compile(r"\s*+([A-Z][A-Za-z /-]{0,40}):\s*+(.*)", re.DOTALL)
# The label of each Design field (lower case) -> (Design attribute, ConceptMap axis); masking is read by
# terminology.legacy_masking, which also gives who is masked.
_FIELDS = {
    "allocation": ("allocation", "allocation"),
    "intervention model": ("intervention_model", "intervention-model"),
    "primary purpose": ("primary_purpose", "primary-purpose"),
    "observational model": ("observational_model", "observational-model"),
    "time perspective": ("time_perspective", "time-perspective"),
    "masking": ("masking", "masking"),
}


def design_parts(text: str) -> list[tuple[str | None, str]]:
    """``(label, value)`` of each part of a ``<study_design>`` string, in order; text before the first label is a
    part with no label. A comma not followed by a label belongs to the value (``Double Blind (Subject,
    Investigator)``)."""
    parts: list[tuple[str | None, str]] = []
    for piece in text.split(","):
        m = _LABELLED.match(piece)
        if m is not None:
            parts.append((m.group(1).strip(), m.group(2).strip()))
        elif parts:
            label, value = parts[-1]
            parts[-1] = (label, f"{value},{piece}")
        elif piece.strip():
            parts.append((None, piece.strip()))
    return [(label, value.strip()) for label, value in parts]


def _placed(d: Design, label: str, value: str) -> bool:
    """Put one part into the design; False when it has no place, no ConceptMap knows it, or ``study_design_info``
    says otherwise."""
    field = _FIELDS.get(label.lower())
    if field is None:
        return False
    attr, axis = field
    who: list[str] = []
    if axis == "masking":
        token, who = terminology.legacy_masking(value)
    else:
        token = v2_token(axis, value)
    current = getattr(d, attr)
    if token is None or current not in (None, token):
        return False
    setattr(d, attr, token)
    if who and not d.who_masked:
        d.who_masked = who
    return True


def read_study_design(r: XmlReader, t: Trial) -> None:
    """``<study_design>`` into ``t.design``; the parts not placed stay in ``Trial.unmapped`` with a warning."""
    el = r.one(r.root, "study_design")
    raw = r.value(el)
    if raw is None:
        return
    left = []
    for label, value in design_parts(raw):
        if label is None or not _placed(t.design, label, value):
            left.append(value if label is None else f"{label}: {value}")
    if left:
        r.unmapped["study_design"] = ", ".join(left)
        r.warn("study_design", "design parts with no place or no known code; kept as text (ResearchStudy.note)")
