"""The computable content of a criterion on the R4 enrollment Group's characteristics, both ways.

https://hl7.org/fhir/R4/group.html; the computable contract (docs/computable.md), section 1; docs/architecture.md.
Reads and writes the R5 characteristic shape of :mod:`fhir_adapter.fhir.r5.criterion_atoms` (R4 is a function of
the R5 output). A Group characteristic says ``code`` = ``value[x]`` (``exclude``: not), so:

- a criterion with one atom is one characteristic: ``code`` the atom's concept, ``valueQuantity`` / ``valueRange`` /
  ``valueCodeableConcept`` its value, ``valueBoolean`` true for presence; the criterion's verbatim text in the
  R5-element extension ``EvidenceVariable.characteristic.description`` (which also marks it as computable);
- a criterion with several atoms keeps today's text characteristic, followed by one characteristic per member, each
  with its own ``exclude`` (relative to its combination, as in R5), a linkId of its own (``<item>.a<n>``, as the
  element ``id`` like every Group characteristic's: :mod:`.group`) and the fhir-adapter extension ``criterion-atom``
  (valueId: the linkId of the criterion or combination it belongs to);
  ``exclude`` is the member's polarity in the flat Group, as for sub-criteria (:mod:`.group`): "no prior
  chemotherapy" under an inclusion is ``true``, "pregnant or breastfeeding" under an exclusion ``true`` for both;
  a nested combination is a member with ``code.text`` all-of / any-of and ``valueBoolean`` true;
- what R4 cannot say travels in R5-element extensions: ``offset`` (``...definitionByTypeAndValue.offset``), the
  combination code of a member combination (``...definitionByCombination.code``, always written there: it marks the
  member as a combination) and windows (``EvidenceVariable.characteristic.timeFromEvent``: description, event,
  range). On ``Group.characteristic`` HL7's official cross-version extensions of EvidenceVariable children are not
  allowed (their context is R4 ``EvidenceVariable.characteristic``: :mod:`.common`), so these use our own base
  ``https://fhir-adapter.dev/StructureDefinition/r5-<path>`` in the same form; the reader takes both bases.
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, extension, get_extension, text_cc
from fhir_adapter.fhir.r4.common import sub_value, xver_all, xver_complex, xver_first_value, xver_value

__all__ = ["characteristics", "is_computable", "lift_computable", "lift_member", "member_parent"]

DESCRIPTION = "EvidenceVariable.characteristic.description"
LINK = "EvidenceVariable.characteristic.linkId"
COMBINE = "EvidenceVariable.characteristic.definitionByCombination.code"
_OFFSET = "EvidenceVariable.characteristic.definitionByTypeAndValue.offset"
_TIME_FROM_EVENT = "EvidenceVariable.characteristic.timeFromEvent"
_MEMBER = "criterion-atom"
# R5 definitionByTypeAndValue value[x] -> the same R4 Group.characteristic value[x].
_VALUES = ("valueQuantity", "valueRange", "valueCodeableConcept")


def _members(ch: JSON) -> list[JSON]:
    """The atom members of an R5 characteristic's combination (sub-criteria have a linkId, members none)."""
    return [k for k in (ch.get("definitionByCombination") or {}).get("characteristic", []) if "linkId" not in k]


def is_computable(ch: JSON) -> bool:
    """True if an R5 criterion characteristic carries atoms (not sub-criteria)."""
    return "definitionByTypeAndValue" in ch or "definitionCodeableConcept" in ch or bool(_members(ch))


def _windows(ch: JSON) -> list[JSON | None]:
    return [
        xver_complex(
            _TIME_FROM_EVENT,
            [
                ("description", "Markdown", t.get("description")),
                ("event", "CodeableConcept", t.get("eventCodeableConcept")),
                ("range", "Range", t.get("range")),
            ],
            own=True,
        )
        for t in ch.get("timeFromEvent", [])
    ]


def _atom(ch: JSON, link: str, exts: list[JSON | None], exclude: bool) -> JSON:
    """One R4 characteristic for an R5 atom characteristic (``link``: its linkId, the element id; ``exts``: the
    extensions that place it; ``exclude``: its polarity in the flat Group)."""
    dbtv = ch.get("definitionByTypeAndValue")
    out: JSON = {"id": link, "extension": [*exts, *_windows(ch)]}
    if dbtv is None:
        out.update(code=ch.get("definitionCodeableConcept"), valueBoolean=True)
    else:
        out["extension"].append(xver_value(_OFFSET, own=True, valueCodeableConcept=dbtv.get("offset")))
        out["code"] = dbtv.get("type")
        out.update({k: dbtv[k] for k in _VALUES if k in dbtv})
    out["exclude"] = exclude
    return out


def _flatten_members(ch: JSON, link: str, out: list[JSON], held: bool) -> None:
    for i, m in enumerate(_members(ch), 1):
        mlink = f"{link}.a{i}"
        exts: list[JSON | None] = [extension(_MEMBER, valueId=link)]
        exclude = held != bool(m.get("exclude"))
        combination = m.get("definitionByCombination")
        if combination is None:
            out.append(_atom(m, mlink, exts, exclude))
            continue
        code = combination.get("code", "all-of")
        exts.append(xver_value(COMBINE, own=True, valueCode=code))
        out.append({"id": mlink, "extension": exts, "code": text_cc(code), "valueBoolean": True, "exclude": exclude})
        _flatten_members(m, mlink, out, exclude)


def characteristics(ch: JSON, exts: list[JSON | None], text_characteristic: JSON, exclude: bool) -> list[JSON]:
    """The R4 characteristics of an R5 criterion characteristic with atoms (``exclude``: the criterion's polarity
    in the flat Group): one for a single atom; else the criterion's ``text_characteristic`` followed by its
    members."""
    if not _members(ch):
        description = xver_value(DESCRIPTION, own=True, valueMarkdown=ch.get("description"))
        return [_atom(ch, str(ch.get("linkId")), [*exts, description], exclude)]
    out = [text_characteristic]
    _flatten_members(ch, str(ch.get("linkId")), out, exclude)
    return out


def _atom_elements(ch: JSON) -> JSON:
    """The R5 atom elements of an R4 characteristic (the way back of :func:`_atom`, ``exclude`` aside)."""
    out: JSON = {}
    if "valueBoolean" in ch:
        out["definitionCodeableConcept"] = ch.get("code")
    else:
        dbtv: JSON = {"type": ch.get("code")}
        dbtv.update({k: ch[k] for k in _VALUES if k in ch})
        dbtv["offset"] = xver_first_value(ch, _OFFSET)
        out["definitionByTypeAndValue"] = dbtv
    windows = [
        {
            "description": sub_value(t, "description"),
            "eventCodeableConcept": sub_value(t, "event"),
            "range": sub_value(t, "range"),
        }
        for t in xver_all(ch, _TIME_FROM_EVENT)
    ]
    if windows:
        out["timeFromEvent"] = windows
    return out


def lift_computable(ch: JSON, link: str) -> JSON | None:
    """The R5 criterion characteristic of an R4 single-atom criterion characteristic (None: not one); ``exclude``
    of ``ch`` already relative to the parent."""
    description = xver_first_value(ch, DESCRIPTION)
    if description is None:
        return None
    out: JSON = {"linkId": link, "description": description}
    if ch.get("exclude"):
        out["exclude"] = True
    out.update(_atom_elements(ch))
    return out


def member_parent(ch: JSON) -> str | None:
    """The linkId of the criterion or combination an R4 member characteristic belongs to (None: not a member)."""
    ext = get_extension(ch, _MEMBER)
    return str(ext.get("valueId")) if ext else None


def lift_member(ch: JSON) -> JSON:
    """The R5 member characteristic (no linkId) of an R4 member characteristic; a combination gets an empty
    ``definitionByCombination`` its members are added to."""
    out: JSON = {"exclude": True} if ch.get("exclude") else {}
    combine = xver_first_value(ch, COMBINE)
    if combine is not None:
        out["definitionByCombination"] = {"code": combine, "characteristic": []}
    else:
        out.update(_atom_elements(ch))
    return out
