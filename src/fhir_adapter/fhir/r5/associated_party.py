"""``ResearchStudy.associatedParty`` (R5), both ways. https://hl7.org/fhir/R5/researchstudy.html

Roles are research-study-party-role codes (https://hl7.org/fhir/R5/valueset-research-study-party-role.html) from
the ConceptMaps of ``mappings/``; the responsible party and the central contacts carry fhir-adapter extensions
(``responsible-party``, ``central-contact``: listed in ``mappings/README.md``) so the way back tells them apart.

One person is one Practitioner (:class:`~fhir_adapter.fhir.r5.parties.People`): the responsible investigator, an
official and a central contact of the same name and affiliation share it, each role with its own PractitionerRole
(title, affiliation, the contact's phone and e-mail) where it has any.
"""

from __future__ import annotations

from fhir_adapter.fhir import common
from fhir_adapter.fhir.common import (
    JSON,
    Context,
    Resolver,
    coded,
    compact,
    extension,
    get_extension,
    text_cc,
    token_of,
)
from fhir_adapter.fhir.r5.parties import (
    People,
    contact_from_telecom,
    from_organization,
    from_person,
    to_organization,
    to_person,
)
from fhir_adapter.model import Official, Organization, ResponsibleParty, Trial


def associated_parties(ctx: Context, t: Trial) -> list[JSON]:
    """``ResearchStudy.associatedParty``: lead sponsor, collaborators, responsible party, officials and central
    contacts, in that order, adding the Organizations and people they refer to to ``ctx``. Built without empty
    elements (``coded`` concepts hold no empty value), so ``bundle`` does not walk them again."""
    out: list[JSON] = []
    rp = t.responsible_party
    named = [(o.name, o.affiliation) for o in t.officials] + [(c.name, None) for c in t.central_contacts]
    people = People(named + ([(rp.name, rp.affiliation)] if rp else []))
    for org, role in [(t.lead_sponsor, "lead-sponsor")] + [(c, "collaborator") for c in t.collaborators]:
        if org is not None:
            kind = coded("sponsor-class", org.agency_class) if org.agency_class else None
            out.append(
                compact(
                    name=org.name,
                    role=common.party_role(role),
                    classifier=[kind] if kind else None,
                    party=to_organization(ctx, org),
                )
            )
    if rp is not None:
        extensions = [extension("responsible-party", valueBoolean=True)]
        # pre-2017 records name the party in one free-text line and organisation
        if rp.old_name_title:
            extensions.append(extension("responsible-party-old-name-title", valueString=rp.old_name_title))
        if rp.old_organization:
            extensions.append(extension("responsible-party-old-organization", valueString=rp.old_organization))
        concept = coded("responsible-party-type", rp.type) or text_cc("responsible party")
        who = to_person(ctx, people, "responsible", rp.name, title=rp.title, affiliation=rp.affiliation)
        out.append(compact(name=rp.name, role=concept, party=who, extension=extensions))
    for i, o in enumerate(t.officials):
        concept = coded("official-role", o.role) or text_cc("official")
        who = to_person(ctx, people, f"official-{i}", o.name, affiliation=o.affiliation)
        out.append(compact(name=o.name, role=concept, party=who))
    for i, c in enumerate(t.central_contacts):
        concept = coded("contact-role", c.role) or common.party_role("general-contact")
        who = to_person(ctx, people, f"contact-{i}", c.name, contact=c)
        out.append(
            compact(name=c.name, role=concept, party=who, extension=[extension("central-contact", valueBoolean=True)])
        )
    return out


def read_associated_parties(rs: JSON, t: Trial, resolve: Resolver) -> None:
    """Set the parties of ``t`` from ``ResearchStudy.associatedParty`` (the way back of :func:`associated_parties`)."""
    for p in rs.get("associatedParty", []):
        target = resolve(p.get("party"))
        if common.has_party_role(p, "lead-sponsor") or common.has_party_role(p, "collaborator"):
            org = from_organization(target) or Organization(p.get("name", ""))
            org.agency_class = token_of("sponsor-class", (p.get("classifier") or [None])[0])
            if common.has_party_role(p, "lead-sponsor"):
                t.lead_sponsor = org
            else:
                t.collaborators.append(org)
        elif get_extension(p, "responsible-party"):
            person = from_person(target, resolve)
            old_name, old_org = (get_extension(p, f"responsible-party-old-{k}") for k in ("name-title", "organization"))
            t.responsible_party = ResponsibleParty(
                type=token_of("responsible-party-type", p.get("role")),
                name=p.get("name") or person.name,
                title=person.title,
                affiliation=person.affiliation,
                old_name_title=old_name.get("valueString") if old_name else None,
                old_organization=old_org.get("valueString") if old_org else None,
            )
        elif get_extension(p, "central-contact"):
            person = from_person(target, resolve)
            role = token_of("contact-role", p.get("role"))
            t.central_contacts.append(contact_from_telecom(p.get("name") or person.name, role, person.telecom))
        else:
            person = from_person(target, resolve)
            t.officials.append(
                Official(
                    name=p.get("name") or person.name or "",
                    role=token_of("official-role", p.get("role")),
                    affiliation=person.affiliation,
                )
            )
