"""Section handlers of a trial page's organisations and people: sponsors, responsible party, central contacts and
other identifiers (see ``text_page/__init__.py``). Sponsor classes are the ``sponsor-class`` enum of
``mappings/ctgov-enums.json``."""

from __future__ import annotations

import re

from fhir_adapter.model import Contact, Organization, ResponsibleParty, SecondaryId
from fhir_adapter.sources.text_page.page import Page, Section, runs_closed_by, token, walk_pairs
from fhir_adapter.terminology import enum_values

_SPONSOR_ROLE = re.compile(r"Sponsor Role\s*(?::\s*)?(\S+)", re.IGNORECASE)
_RESPONSIBILITY_ROLE = re.compile(r"Responsibility Role\s*(?::\s*)?(\S+)", re.IGNORECASE)
_CONTACT_ROLE = re.compile(r"Role\s*:\s*(\S+)", re.IGNORECASE)
_PHONE = re.compile(r"(\+?[\d][\d\s().-]{4,}\d)(?:\s*(?:ext\.?|x|extension)\s*(?::\s*)?(\d+))?", re.IGNORECASE)
_IDENTIFIER_FIELD = re.compile(r"Identifier (Type|Source|Domain|Link)\s*:\s*(.*)", re.IGNORECASE)


def sponsors(page: Page, sec: Section) -> list[str]:
    runs, left = page.named_runs(sec, _SPONSOR_ROLE, "sponsor role line without a sponsor name")
    for lines, role in runs:
        org = Organization(name=lines[0])
        extra = lines[1:]
        if extra and token(extra[0]) in enum_values("sponsor-class"):
            org.agency_class = token(extra[0])
            extra = extra[1:]
        if role.group(1).lower() == "lead":
            page.trial.lead_sponsor = org
        else:
            page.trial.collaborators.append(org)
        page.unmapped(sec.label, extra)
    return left


def responsible(page: Page, sec: Section) -> list[str]:
    runs, left = runs_closed_by(_RESPONSIBILITY_ROLE, sec.texts)
    for lines, role in runs:
        # name, title and affiliation, in that order, as many as the page gives
        name, title, affiliation = (lines[i] if i < len(lines) else None for i in range(3))
        page.trial.responsible_party = ResponsibleParty(
            type=token(role.group(1)), name=name, title=title, affiliation=affiliation
        )
        page.unmapped(sec.label, lines[3:])
    return left


def contacts(page: Page, sec: Section) -> list[str]:
    left: list[str] = []
    listed: list[Contact] = []  # this section's contacts, in page order

    def take(line: str, nxt: str) -> bool:
        role = _CONTACT_ROLE.fullmatch(nxt)
        if role is not None:  # "<name>" then "Role: CONTACT"
            listed.append(Contact(name=line, role=token(role.group(1))))
        elif not (listed and _added_detail(listed[-1], line)):
            left.append(line)
        return role is not None

    walk_pairs(sec.texts, take)
    page.trial.central_contacts.extend(listed)
    return left


def _added_detail(contact: Contact, line: str) -> bool:
    """Whether the line was the contact's phone number or e-mail address (the first of each), now set."""
    phone = _PHONE.fullmatch(line)
    if phone is not None and contact.phone is None:
        contact.phone, contact.phone_ext = phone.group(1), phone.group(2)
    elif _is_email(line) and contact.email is None:
        contact.email = line
    else:
        return False
    return True


def identifiers(page: Page, sec: Section) -> list[str]:
    left: list[str] = []
    current: SecondaryId | None = None
    source: str | None = None

    def close() -> None:
        if current is None:
            return
        if source == "org_study_id":
            page.trial.org_study_id = current
        else:
            page.trial.secondary_ids.append(current)

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
        if what == "source":
            source = value
        else:  # type, domain or link
            setattr(current, what, value)
    close()
    return left


def _is_email(line: str) -> bool:
    """What ``\\S+@\\S+\\.\\S+`` fullmatches, in linear time (that pattern is cubic on "@@@...")."""
    if not line or line.split() != [line]:
        return False
    at = line.find("@", 1)
    return at > 0 and line.rfind(".", 0, len(line) - 1) >= at + 2
