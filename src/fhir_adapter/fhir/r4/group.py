"""Group (R4) for the eligibility criteria (``ResearchStudy.enrollment``), both ways.

https://hl7.org/fhir/R4/group.html. One characteristic per criterion in source order (``exclude`` as given); age
as ``valueRange`` (LOINC 30525-0 with UCUM quantities), sex as ``valueCodeableConcept`` (LOINC 46098-0,
administrative-gender + ct.gov codings); every other criterion as ``code.text`` "Inclusion criterion" / "Exclusion
criterion" with its verbatim text in ``valueCodeableConcept.text``. Nested criteria are flattened depth-first, each
child right after its parent, with the R5 linkId as the characteristic's element ``id`` (R4 Element.id: "unique id
for inter-element referencing") and the fhir-adapter extension ``criterion-parent`` (valueId: the parent's linkId)
on children. Not the cross-version extension ``EvidenceVariable.characteristic.linkId``, which bundles before issue
11 carried (still read): its context is R4 ``EvidenceVariable.characteristic``, not ``Group.characteristic``.
``exclude`` is what the flat Group means: whether members must NOT have the characteristic, i.e. the item's own
polarity combined with every parent's (a sub-item of an exclusion item is ``true``; an "except:" sub-item of an
exclusion item ``false``), so that a reader who knows no nesting never reads a criterion the wrong way round; the
lift makes it relative to the parent again (R5's and the model's). A parent whose sub-items combine ``any-of`` says
so in the R5-element extension ``EvidenceVariable.characteristic.definitionByCombination.code`` (our own base on a
Group characteristic: :mod:`.common`). Computable content (atoms): :mod:`.criterion_atoms`.
The verbatim eligibility text is ``Group.description`` (R5 element, as extension), the non-criterion facts (healthy
volunteers, standard ages, study population ...) the eligibility EvidenceVariable's own extensions, unchanged (older
bundles: ``EvidenceVariable.category`` extensions, still read), and the canonical url of the R5 EvidenceVariable
``Group.identifier`` (system ``urn:ietf:rfc:3986``).
"""

from __future__ import annotations

from fhir_adapter.fhir.common import JSON, extension, get_extension, pruned, text_cc
from fhir_adapter.fhir.ids import full_url, resource_id
from fhir_adapter.fhir.r4 import criterion_atoms
from fhir_adapter.fhir.r4.common import without_xver, xver_first_value, xver_value
from fhir_adapter.fhir.r4.evidence_variable import categories_from, category_extensions

URI = "urn:ietf:rfc:3986"
_LINK = "EvidenceVariable.characteristic.linkId"
# How the sub-items of an item combine (R5 definitionByCombination.code), written only when it is not all-of (the
# default, and what Group characteristics mean: every one applies). Its own extension: HL7's validator cannot build
# the complex definitionByCombination one (its ``characteristic`` child is a content reference).
_COMBINE = "EvidenceVariable.characteristic.definitionByCombination.code"
# The element id of the second bound of an age range split by units (element ids are unique in a resource).
_SECOND_BOUND = ".high"


def group_id(nct_id: str) -> str:
    return resource_id(nct_id, "Group", "eligibility")


def _age_or_sex(ch: JSON, exts: list[JSON | None], out: list[JSON]) -> None:
    """The age and sex characteristics (``definitionByTypeAndValue`` of the structured fields)."""
    link = ch.get("linkId")
    exclude = bool(ch.get("exclude"))
    dbtv = ch.get("definitionByTypeAndValue") or {}
    rng = dbtv.get("valueRange") or {}
    if rng.get("low") and rng.get("high") and rng["low"].get("code") != rng["high"].get("code"):
        # rng-2 (low <= high) cannot be evaluated across units offline (HAPI reports an error for 3 mo .. 17 a):
        # two characteristics, one bound each; Group characteristics all apply, so the meaning is the same.
        for bound, suffix in (("low", ""), ("high", _SECOND_BOUND)):
            out.append(
                {
                    "id": f"{link}{suffix}",
                    "extension": exts,
                    "code": dbtv.get("type"),
                    "valueRange": {bound: rng[bound]},
                    "exclude": exclude,
                }
            )
        return
    out.append(
        {
            "id": link,
            "extension": exts,
            "code": dbtv.get("type"),
            "valueRange": dbtv.get("valueRange"),
            "valueCodeableConcept": dbtv.get("valueCodeableConcept"),
            "exclude": exclude,
        }
    )


def _flatten(ch: JSON, parent: str | None, out: list[JSON], held: bool = False) -> None:
    """The R4 characteristics of one R5 criterion characteristic and its sub-items (``held``: the parent's
    polarity in the flat Group)."""
    combine = (ch.get("definitionByCombination") or {}).get("code")
    exts = [
        extension("criterion-parent", valueId=parent) if parent else None,
        xver_value(_COMBINE, own=True, valueCode=combine) if combine not in (None, "all-of") else None,
    ]
    if not _is_criterion(ch.get("linkId")):
        _age_or_sex(ch, exts, out)
        return
    exclude = held != bool(ch.get("exclude"))
    text = {
        "id": ch.get("linkId"),
        "extension": exts,
        "code": text_cc("Exclusion criterion" if exclude else "Inclusion criterion"),
        "valueCodeableConcept": text_cc(ch.get("description") or "(no text)"),
        "exclude": exclude,
    }
    if criterion_atoms.is_computable(ch):
        out.extend(criterion_atoms.characteristics(ch, exts, text, exclude))
        return
    out.append(text)
    for kid in (ch.get("definitionByCombination") or {}).get("characteristic", []):
        _flatten(kid, ch.get("linkId"), out, exclude)


def down(ev: JSON, nct_id: str) -> JSON:
    """The R5 eligibility EvidenceVariable -> R4 Group (id: uuid5 of the NCT id and ``Group/eligibility``)."""
    chars: list[JSON] = []
    for ch in ev.get("characteristic", []):
        _flatten(ch, None, chars)
    return pruned(
        {
            "resourceType": "Group",
            "id": group_id(nct_id),
            "extension": [
                *ev.get("extension", []),
                xver_value("Group.description", valueMarkdown=ev.get("description")),
                *category_extensions(ev),
            ],
            "identifier": [{"system": URI, "value": ev.get("url")}] if ev.get("url") else None,
            "type": "person",
            "actual": False,
            "name": ev.get("title"),
            "characteristic": chars,
        }
    )


def _is_criterion(link: object) -> bool:
    """Criteria have linkIds ``inc-<n>`` / ``exc-<n>`` (nested: ``inc-<n>.<m>``); age and sex their own."""
    return str(link).startswith(("inc-", "exc-"))


def _lift_item(ch: JSON, link: str, by_link: dict[str, JSON]) -> JSON | None:
    """The R5 characteristic of an R4 criterion, age or sex characteristic (None: the second bound of an age
    range split by units, merged into the first)."""
    if _is_criterion(link):
        computable = criterion_atoms.lift_computable(ch, link)
        if computable is not None:
            return computable
        item: JSON = {"linkId": link, "description": (ch.get("valueCodeableConcept") or {}).get("text")}
        if ch.get("exclude"):
            item["exclude"] = True
        combine = xver_first_value(ch, _COMBINE)
        if combine:
            item["definitionByCombination"] = {"code": combine, "characteristic": []}
        return item
    if "valueRange" in ch and link in by_link:
        by_link[link]["definitionByTypeAndValue"]["valueRange"].update(ch["valueRange"])
        return None
    value: JSON = (
        {"valueRange": dict(ch["valueRange"])}
        if "valueRange" in ch
        else {"valueCodeableConcept": ch.get("valueCodeableConcept")}
    )
    return {"linkId": link, "definitionByTypeAndValue": {"type": ch.get("code"), **value}}


def _link_of(ch: JSON) -> str | None:
    """The R5 linkId of an R4 characteristic: its element id (the second bound of a split age range: the first's),
    or the cross-version extension of bundles before issue 11."""
    if ch.get("id"):
        return str(ch["id"]).removesuffix(_SECOND_BOUND)
    link = xver_first_value(ch, _LINK)
    return None if link is None else str(link)


def _add_to(parent: JSON, item: JSON) -> None:
    parent.setdefault("definitionByCombination", {"code": "all-of", "characteristic": []})
    parent["definitionByCombination"]["characteristic"].append(item)


def lift(group: JSON) -> JSON:
    """R4 Group -> the R5 eligibility EvidenceVariable shape ``r5.evidence_variable.from_eligibility`` reads."""
    top: list[JSON] = []
    by_link: dict[str, JSON] = {}
    held: dict[str, bool] = {}  # linkId -> its polarity in the flat Group
    for ch in group.get("characteristic", []):
        link = _link_of(ch)
        if link is None:
            continue
        parent_ext = get_extension(ch, "criterion-parent")
        member_of = criterion_atoms.member_parent(ch)
        parent_link = member_of or (str(parent_ext.get("valueId")) if parent_ext else "")
        held[str(link)] = bool(ch.get("exclude"))
        ch = {**ch, "exclude": held[str(link)] != held.get(parent_link, False)}  # relative to the parent again
        if member_of is not None:  # an atom (or combination) of a criterion: placed under it, never on its own
            if member_of in by_link:
                by_link[str(link)] = criterion_atoms.lift_member(ch)
                _add_to(by_link[member_of], by_link[str(link)])
            continue
        item = _lift_item(ch, str(link), by_link)
        if item is None:
            continue
        by_link[str(link)] = item
        parent = by_link.get(parent_link)
        if parent is None:
            top.append(item)
        else:
            _add_to(parent, item)
    ids = [i.get("value") for i in group.get("identifier", []) if i.get("system") == URI]
    return pruned(
        {
            "resourceType": "EvidenceVariable",
            "id": group.get("id"),
            "extension": without_xver(group),
            "url": ids[0] if ids else None,
            "title": group.get("name"),
            "status": "active",
            "description": xver_first_value(group, "Group.description"),
            "actual": False,
            "characteristic": top,
            "category": categories_from(group),
        }
    )


def reference(nct_id: str) -> JSON:
    return {"reference": full_url(group_id(nct_id))}
