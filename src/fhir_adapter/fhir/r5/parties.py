"""Organizations, people and sites: Organization, Practitioner, PractitionerRole and Location (R5), both ways.

- https://hl7.org/fhir/R5/organization.html
- https://hl7.org/fhir/R5/practitioner.html, https://hl7.org/fhir/R5/practitionerrole.html
- https://hl7.org/fhir/R5/location.html

Countries: the ISO 3166-1 alpha-2 code from ``mappings/iso3166-countries.json`` (ClinicalTrials.gov names -> codes,
with its source), in ``ResearchStudy.region`` (:func:`to_region`, jurisdiction value set
https://hl7.org/fhir/R5/valueset-jurisdiction.html) and in ``Location.address.country``
(https://hl7.org/fhir/R5/datatypes.html#Address), the name as ct.gov writes it always travelling with it.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache

from fhir_adapter import terminology
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
from fhir_adapter.fhir.ids import slug
from fhir_adapter.model import Contact, Organization, Site

# HL7's "Original Text" extension (http://hl7.org/fhir/extensions/StructureDefinition-originalText.html, context
# Element, valueString): the country name as ct.gov wrote it, beside the ISO code in Address.country.
ORIGINAL_TEXT = "http://hl7.org/fhir/StructureDefinition/originalText"
# HL7's "ContactPoint Extension" (http://hl7.org/fhir/extensions/StructureDefinition-contactpoint-extension.html,
# context ContactPoint, valueString): the number dialled after connecting (ct.gov phoneExt / phone_ext).
CONTACTPOINT_EXTENSION = "http://hl7.org/fhir/StructureDefinition/contactpoint-extension"
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Countries:
    codes: dict[str, str | None]  # casefolded name -> ISO 3166-1 alpha-2 (None: a known name with no current code)
    displays: dict[str, str]  # code -> ISO short name


@cache
def _countries() -> _Countries:
    with (terminology.mappings_dir() / "iso3166-countries.json").open(encoding="utf-8") as fh:
        table = json.load(fh)
    codes: dict[str, str | None] = {n.casefold(): c["code"] for c in table["countries"] for n in c["names"]}
    codes |= {row["name"].casefold(): row["code"] for row in table["ctgov"]}
    return _Countries(codes, {c["code"]: c["display"] for c in table["countries"]})


@lru_cache(maxsize=1024)  # asked for every site (address and region); the registry names a few hundred countries
def iso_country(country: str | None) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country as ct.gov names it, None if the table has none."""
    return _countries().codes.get(" ".join(country.split()).casefold()) if country else None


def to_region(country: str) -> JSON:
    """``ResearchStudy.region`` (R4: ``location``) of a country: the ISO 3166 coding when the table knows the name,
    and always ``text`` = the name as given (so the way back, :func:`country_of_region`, is exact)."""
    code = iso_country(country)
    if code is None:
        return {"text": country}
    coding = {"system": terminology.system("iso3166"), "code": code, "display": _countries().displays[code]}
    return {"coding": [coding], "text": country}


def country_of_region(cc: JSON | None) -> str | None:
    """The country name of a region concept: its text, else the ISO display (or code) of an ISO 3166 coding."""
    if not cc:
        return None
    if cc.get("text"):
        return str(cc["text"])
    iso = terminology.system("iso3166")
    for c in cc.get("coding", []):
        if c.get("system") == iso and c.get("code"):
            return str(c.get("display") or _countries().displays.get(c["code"]) or c["code"])
    return None


def address_of(site: Site) -> JSON:
    """``Location.address``: ``country`` is the ISO code when known (HL7: "ISO 3166 2 or 3 letter codes"), with the
    ct.gov name as its Original Text extension; otherwise the name itself."""
    code = iso_country(site.country)
    return compact(  # built without empty parts (a code implies a country name): a Location is not pruned again
        city=site.city,
        state=site.state,
        postalCode=site.zip,
        country=code or site.country,
        _country={"extension": [{"url": ORIGINAL_TEXT, "valueString": site.country}]} if code else None,
    )


def country_of_address(address: JSON) -> str | None:
    """The ct.gov country name of an address (the way back of :func:`address_of`; bundles before it have the name in
    ``country``)."""
    for e in (address.get("_country") or {}).get("extension", []):
        if e.get("url") == ORIGINAL_TEXT and e.get("valueString"):
            return str(e["valueString"])
    return address.get("country")


def to_organization(ctx: Context, org: Organization) -> JSON:
    """Reference to the Organization for a sponsor, collaborator or affiliation (one per name). Built without empty
    elements (``coded`` holds no empty value), so it is not walked again."""
    kind = coded("sponsor-class", org.agency_class) if org.agency_class else None
    return ctx.add("Organization", slug(org.name), compact(name=org.name, type=[kind] if kind else None), clean=True)


def from_organization(resource: JSON | None) -> Organization | None:
    if not resource or not resource.get("name"):
        return None
    types = resource.get("type") or [None]
    return Organization(name=resource["name"], agency_class=token_of("sponsor-class", types[0]))


def telecom(contact: Contact) -> list[JSON]:
    """The contact points of a contact: the phone (its extension in HL7's ``contactpoint-extension``) and e-mail;
    without empty elements (a phone extension without a number leaves the value out)."""
    out: list[JSON] = []
    if contact.phone or contact.phone_ext:
        ext = [{"url": CONTACTPOINT_EXTENSION, "valueString": contact.phone_ext}] if contact.phone_ext else None
        out.append(compact(system="phone", value=contact.phone, extension=ext))
    if contact.email:
        out.append({"system": "email", "value": contact.email})
    return out


def _phone_ext(point: JSON) -> str | None:
    """The extension of a phone: HL7's ``contactpoint-extension``, or fhir-adapter's older ``phone-extension``."""
    official = next((e for e in point.get("extension", []) if e.get("url") == CONTACTPOINT_EXTENSION), None)
    ext = official or get_extension(point, "phone-extension")
    return str(ext["valueString"]) if ext and ext.get("valueString") else None


def contact_from_telecom(name: str | None, role: str | None, points: list[JSON]) -> Contact:
    c = Contact(name=name, role=role)
    for p in points:
        if p.get("system") == "phone":
            c.phone = p.get("value")
            c.phone_ext = _phone_ext(p)
        elif p.get("system") == "email":
            c.email = p.get("value")
    return c


def identity_words(text: str | None) -> str:
    """A name or affiliation as compared for identity: its words, case-folded (punctuation and spacing ignored)."""
    return " ".join(_WORDS.findall(unicodedata.normalize("NFKC", text or "").casefold()))


class People:
    """Who is who among the named people of one trial, so that one person is one Practitioner.

    A person is a name at an affiliation. A mention without an affiliation (a central contact) is the person of
    that name when exactly one affiliation is known for the name; two people of one name at different
    affiliations stay two, and so does an unaffiliated mention of such a name."""

    def __init__(self, named: Iterable[tuple[str | None, str | None]]) -> None:
        self._affiliations: dict[str, set[str]] = {}
        for name, affiliation in named:
            known = self._affiliations.setdefault(identity_words(name), set())
            if identity_words(affiliation):
                known.add(identity_words(affiliation))

    def key(self, name: str | None, affiliation: str | None) -> str | None:
        """The identity key of a person (the Practitioner's id derives from it), None without a name."""
        words = identity_words(name)
        if not words:
            return None
        at = identity_words(affiliation)
        known = self._affiliations.get(words, set())
        if not at and len(known) == 1:
            at = next(iter(known))
        return f"person|{words}|{at}"


def to_person(
    ctx: Context,
    people: People,
    role_key: str,
    name: str | None,
    contact: Contact | None = None,
    title: str | None = None,
    affiliation: str | None = None,
) -> JSON | None:
    """Reference to the one Practitioner of a person, or to a PractitionerRole (keyed by ``role_key``) that refers
    to it when the role has a title, an affiliation or contact points of its own
    (https://hl7.org/fhir/R5/practitionerrole.html: ``contact`` holds the details "relevant to the specific
    PractitionerRole")."""
    key = people.key(name, affiliation)
    # a key means a name with words: the Practitioner has no empty element, nor has the role built below
    practitioner = ctx.add("Practitioner", key, {"name": [{"text": name}]}, clean=True) if key else None
    points = telecom(contact) if contact else []
    if not title and not affiliation and not points:
        return practitioner
    role = compact(
        practitioner=practitioner,
        organization=to_organization(ctx, Organization(affiliation)) if affiliation else None,
        code=[text_cc(title)] if title else None,
        contact=[{"telecom": points}] if points else None,
    )
    return ctx.add("PractitionerRole", role_key, role, clean=True)


@dataclass(frozen=True, slots=True)
class Person:
    """What :func:`from_person` reads of a Practitioner or PractitionerRole."""

    name: str | None = None
    title: str | None = None
    affiliation: str | None = None
    telecom: list[JSON] = field(default_factory=list)


def telecom_of(resource: JSON | None, resolve: Resolver) -> list[JSON]:
    """The contact points of a party: a PractitionerRole's ``contact[].telecom``, else its Practitioner's
    ``telecom`` (where fhir-adapter wrote them before issue 11, and where other tools may), else the resource's own
    ``telecom`` (a Practitioner; an R4 PractitionerRole)."""
    r = resource or {}
    points = [t for c in r.get("contact", []) for t in c.get("telecom", [])] + r.get("telecom", [])
    if not points and r.get("resourceType") == "PractitionerRole":
        points = (resolve(r.get("practitioner")) or {}).get("telecom", [])
    return list(points)


def from_person(resource: JSON | None, resolve: Resolver) -> Person:
    """The name, title, affiliation and contact points of a Practitioner or PractitionerRole."""
    if not resource:
        return Person()
    title = affiliation = None
    practitioner = resource
    if resource.get("resourceType") == "PractitionerRole":
        codes = resource.get("code") or []
        title = codes[0].get("text") if codes else None
        org = from_organization(resolve(resource.get("organization")))
        affiliation = org.name if org else None
        practitioner = resolve(resource.get("practitioner")) or {}
    names = practitioner.get("name") or [{}]
    return Person(names[0].get("text"), title, affiliation, telecom_of(resource, resolve))


def to_location(ctx: Context, index: int, site: Site) -> JSON:
    """Reference to the Location of one site (keyed by position: two sites may share a facility name).

    Built without empty elements (``compact``; ``coded`` holds no empty value; nor do the telecom parts), so the
    Location, the one resource every site adds, is not walked again by ``prune``."""
    status = coded("recruitment-status", site.status) if site.status else None
    position = None
    if site.latitude is not None and site.longitude is not None:
        position = {"latitude": site.latitude, "longitude": site.longitude}
    body = compact(
        extension=[extension("site-recruitment-status", valueCodeableConcept=status)] if status else None,
        name=site.facility,
        mode="instance",
        address=address_of(site),
        position=position,
        contact=[part for part in map(_site_contact, site.contacts) if part],
    )
    return ctx.add("Location", f"site-{index}", body, clean=True)


def _site_contact(c: Contact) -> JSON:
    """One ``Location.contact`` (ExtendedContactDetail) of a site, without empty elements."""
    return compact(
        purpose=coded("contact-role", c.role),
        name=[{"text": c.name}] if c.name else None,
        telecom=telecom(c),
    )


def from_location(resource: JSON | None) -> Site:
    r = resource or {}
    address, position = r.get("address") or {}, r.get("position") or {}
    status = get_extension(r, "site-recruitment-status")
    site = Site(
        facility=r.get("name"),
        city=address.get("city"),
        state=address.get("state"),
        zip=address.get("postalCode"),
        country=country_of_address(address),
        latitude=position.get("latitude"),
        longitude=position.get("longitude"),
        status=token_of("recruitment-status", status.get("valueCodeableConcept")) if status else None,
    )
    for c in r.get("contact", []):
        names = c.get("name") or [{}]
        site.contacts.append(
            contact_from_telecom(names[0].get("text"), token_of("contact-role", c.get("purpose")), c.get("telecom", []))
        )
    return site
