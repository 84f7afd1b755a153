"""Deterministic resource ids: uuid5 of the NCT id and an element key, so re-runs and re-pushes are stable."""

from __future__ import annotations

import re
import uuid
from hashlib import sha1

# Namespace for every id fhir-adapter mints (uuid5 of the project's name in the URL namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://fhir-adapter.dev/ids")
# SHA-1 state after the namespace's bytes: each id copies it and adds its name (a copy costs less than a new hash)
_NAMESPACE_SHA1 = sha1(NAMESPACE.bytes)
# hex digit -> the same digit with its top two bits set to 10 (RFC 4122 variant)
_VARIANT = {d: "89ab"[int(d, 16) & 3] for d in "0123456789abcdef"}
_NOT_SLUG = re.compile(r"[^a-z0-9]+")


# Not cached: across a run nearly every id is new (one NCT id each; 27,042 of 28,971 calls when mapping 600 registry
# studies), so an lru_cache cost more in its bookkeeping than its few hits saved.
def resource_id(nct_id: str, kind: str, key: str = "") -> str:
    """The id of the resource ``kind`` (e.g. ``"EvidenceVariable/eligibility"``) of a trial.

    ``str(uuid.uuid5(NAMESPACE, name))`` (RFC 4122 section 4.3, https://www.rfc-editor.org/rfc/rfc4122#section-4.3)
    computed on the digest's hex text: the same text without building a UUID object. The version nibble (hex digit 12)
    becomes ``5`` and the variant bits (the top two of hex digit 16) ``10``."""
    state = _NAMESPACE_SHA1.copy()
    state.update(f"{nct_id}/{kind}/{key}".encode())
    h = state.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


def full_url(resource_id: str) -> str:
    """The ``urn:uuid`` fullUrl of an id minted by ``resource_id``."""
    return f"urn:uuid:{resource_id}"


def slug(text: str) -> str:
    """A stable key from free text (arm labels, names): lower case, runs of other characters as ``-``."""
    return _NOT_SLUG.sub("-", text.lower()).strip("-")[:64] or "x"
