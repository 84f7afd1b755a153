"""Deterministic resource ids: uuid5 of the NCT id and an element key, so re-runs and re-pushes are stable."""

from __future__ import annotations

import re
import uuid

# Namespace for every id fhir-adapter mints (uuid5 of the project's name in the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fhir-adapter.dev/ids")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


def resource_id(nct_id: str, kind: str, key: str = "") -> str:
    """The id of the resource ``kind`` (e.g. ``"EvidenceVariable/eligibility"``) of a trial."""
    return str(uuid.uuid5(NAMESPACE, f"{nct_id}/{kind}/{key}"))


def full_url(resource_id: str) -> str:
    """The ``urn:uuid`` fullUrl of an id minted by ``resource_id``."""
    return f"urn:uuid:{resource_id}"


def slug(text: str) -> str:
    """A stable key from free text (arm labels, names): lower case, runs of other characters as ``-``."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")[:64] or "x"
