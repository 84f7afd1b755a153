"""Layer 3: checks no model or profile makes for us.

* For every resource: no empty objects, empty arrays, empty / whitespace-only strings or nulls anywhere (ele-1 in
  practice; the profile layer leaves ele-1 to this check so it is reported once).
* For Bundles: every reference resolves within the bundle (absolute http(s) URLs that match no entry: warning;
  ``#id`` references to contained resources are invariant ref-1 of the profile layer), fullUrls and ``Type/id``
  are unique, and every entry of a transaction or batch has ``request.method`` and ``request.url``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fhir_adapter.issues import Issue
from fhir_adapter.validate._common import Loc, at, child, short

_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[A-Za-z0-9\-.]{1,64})?$")
_NULL = "null is not allowed in FHIR JSON (leave the element out)"
_ELE1 = "(ele-1: all FHIR elements must have a @value or children)"


def check_empty(value: Any, location: str) -> list[Issue]:
    """Errors for every empty object, empty array and empty or whitespace-only string in ``value``."""
    issues: list[Issue] = []
    _empty(value, location, issues)
    return issues


def _empty(value: Any, location: str, issues: list[Issue]) -> None:
    if isinstance(value, dict):
        if not value:
            issues.append(Issue("error", location, f"empty object {_ELE1}", "value"))
        for key, item in value.items():
            if isinstance(item, list):
                if not item:
                    issues.append(Issue("error", child(location, key), f"empty array {_ELE1}", "value"))
                # nulls are allowed only in primitive arrays aligned with their _name twin (given / _given)
                twin = key[1:] if key.startswith("_") else "_" + key
                nulls_ok = twin in value
                for i, sub in enumerate(item):
                    if sub is None and not nulls_ok:
                        issues.append(Issue("error", child(location, key, i), _NULL, "value"))
                    _empty(sub, child(location, key, i), issues)
            elif item is None:
                issues.append(Issue("error", child(location, key), _NULL, "value"))
            else:
                _empty(item, child(location, key), issues)
    elif isinstance(value, str) and not value.strip():
        what = "empty string" if not value else "whitespace-only string"
        issues.append(Issue("error", location, f"{what} {_ELE1}", "value"))


def _references(value: Any, location: str) -> Iterator[tuple[str, str]]:
    """(reference, location of it) for every Reference.reference in ``value``, however deep."""
    if not isinstance(value, dict):
        return
    for ref, path in _reference_paths(value, ()):
        yield ref, location + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


def _reference_paths(value: dict[str, Any], path: tuple[str | int, ...]) -> Iterator[tuple[str, tuple[str | int, ...]]]:
    # The path is a tuple of keys and indices, made into a location string only for a reference found.
    ref = value.get("reference")
    # Expression.reference is a uri, not a Reference: it comes with expression/language.
    if isinstance(ref, str) and "expression" not in value and "language" not in value:
        yield ref, (*path, "reference")
    for key, item in value.items():
        if key == "contained":
            continue  # contained resources are walked with their own container below
        if isinstance(item, list):
            for i, sub in enumerate(item):
                if isinstance(sub, dict):
                    yield from _reference_paths(sub, (*path, key, i))
        elif isinstance(item, dict):
            yield from _reference_paths(item, (*path, key))


class _Seen:
    """The fullUrls and ``Type/id`` of the entries walked so far (duplicates are errors, except in a history)."""

    def __init__(self, history: bool) -> None:
        self.history = history
        self.full_urls: dict[tuple[str, Any], int] = {}
        self.type_ids: dict[tuple[str, str, Any], int] = {}
        self.known_urls: set[str] = set()
        self._known_type_ids: set[str] | None = None

    def entries(self, entries: list[Any], location: str, btype: Any) -> list[Issue]:
        """Record the entries of the Bundle at ``location``: an error for a fullUrl or ``Type/id`` (of the same
        version) seen before, and (a transaction or batch) for an entry without its request's method or url."""
        issues: list[Issue] = []
        full_urls, type_ids, known_urls, history = self.full_urls, self.type_ids, self.known_urls, self.history
        requests = btype in ("transaction", "batch")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                continue
            res = entry.get("resource")
            res = res if isinstance(res, dict) else {}
            meta = res.get("meta")
            version = meta.get("versionId") if isinstance(meta, dict) else None
            full_url = entry.get("fullUrl")
            if isinstance(full_url, str) and full_url:
                known_urls.add(full_url)
                first = full_urls.setdefault((full_url, version), i)
                if first != i and not history:
                    message = f"duplicate fullUrl {short(full_url)} (also in entry[{first}])"
                    issues.append(Issue("error", f"{location}.entry[{i}].fullUrl", message, "duplicate"))
            rtype, rid = res.get("resourceType"), res.get("id")
            if isinstance(rtype, str) and isinstance(rid, str) and rid:
                first = type_ids.setdefault((rtype, rid, version), i)
                if first != i and not history:
                    message = f"duplicate resource {short(rtype + '/' + rid)} (also in entry[{first}])"
                    issues.append(Issue("error", f"{location}.entry[{i}].resource.id", message, "duplicate"))
            if requests:
                issues += _check_request(entry, str(btype), f"{location}.entry[{i}]")
        return issues

    def known_type_ids(self) -> set[str]:
        """``Type/id`` of every entry seen (made once, when a reference first needs it: most resolve by fullUrl)."""
        if self._known_type_ids is None:
            self._known_type_ids = {f"{rtype}/{rid}" for rtype, rid, _ in self.type_ids}
        return self._known_type_ids


def _check_request(entry: dict[str, Any], btype: str, entry_loc: str) -> list[Issue]:
    """Errors for a transaction or batch entry without ``request.method`` or ``request.url``."""
    request = entry.get("request")
    if not isinstance(request, dict):
        message = f"every entry of a {btype} needs request.method and request.url"
        return [Issue("error", f"{entry_loc}.request", message, "required")]
    return [
        Issue("error", f"{entry_loc}.request.{field}", f"every entry of a {btype} needs request.{field}", "required")
        for field in ("method", "url")
        if not request.get(field)
    ]


def check_bundle(
    bundle: dict[str, Any], location: str = "Bundle", refs: dict[str, list[list[tuple[str, Loc]]]] | None = None
) -> list[Issue]:
    """Layer 3 issues of a Bundle: references, unique fullUrl and Type/id, transaction requests.

    ``refs``: the references of each entry resource (by its location) in the order ``_references`` finds them (the
    resource's, then each contained resource's), when the caller's walk collected them already (see
    ``fast.check_layers``; their locations may be lazy, ``_common.Loc``: made only for an issue)."""
    entries = bundle.get("entry")
    if not isinstance(entries, list):
        return []
    btype = bundle.get("type")
    seen = _Seen(history=btype == "history")
    issues = seen.entries(entries, location, btype)
    known = seen.known_urls
    if refs is not None and _all_known(refs, known):
        return issues  # every reference is a fullUrl (the common case): the loop below would report nothing
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
            resource, res_loc = entry["resource"], f"{location}.entry[{i}].resource"
            found = _all_references(resource, res_loc) if refs is None else [r for rs in refs[res_loc] for r in rs]
            base = None
            for ref, ref_loc in found:
                if ref in known:
                    continue  # resolves (the common case: what _resolve would decide, without the call)
                if base is None:
                    base = _base(resource, entry.get("fullUrl"))
                issue = _resolve(ref, at(ref_loc), base, known, seen.known_type_ids())
                if issue is not None:
                    issues.append(issue)
    return issues


def _all_known(refs: dict[str, list[list[tuple[str, Loc]]]], known: set[str]) -> bool:
    """True if every reference of ``refs`` (those of the entries and any others) is in ``known``."""
    for lists in refs.values():
        for found in lists:
            for ref, _ in found:
                if ref not in known:
                    return False
    return True


def _base(resource: dict[str, Any], full_url: Any) -> str:
    """The server base of an absolute fullUrl ending in ``Type/id`` (relative references resolve against it)."""
    if isinstance(full_url, str) and full_url.startswith(("http://", "https://")):
        marker = f"/{resource.get('resourceType')}/"
        if marker in full_url:
            return full_url[: full_url.rindex(marker) + 1]
    return ""


def _all_references(resource: dict[str, Any], location: str) -> list[tuple[str, str]]:
    """The references of ``resource`` (contained resources skipped), then those of each contained resource."""
    contained = resource.get("contained")
    contained_list = contained if isinstance(contained, list) else []
    sources = [(resource, location)] + [
        (c, child(location, "contained", i)) for i, c in enumerate(contained_list) if isinstance(c, dict)
    ]
    return [found for node, node_loc in sources for found in _references(node, node_loc)]


def _resolve(ref: str, loc: str, base: str, known_urls: set[str], known_type_ids: set[str]) -> Issue | None:
    if not ref.strip():
        return None  # reported as an empty string
    if ref.startswith("#"):
        return None  # local references to contained resources: invariant ref-1 (profile layer), for any resource
    if ref in known_urls:
        return None
    if ref.startswith(("http://", "https://")):
        return Issue("warning", loc, f"reference {short(ref)} is not in the bundle (it is not checked)", "not-found")
    match = _RELATIVE.match(ref)
    if match:
        type_id = f"{match.group(1)}/{match.group(2)}"
        if type_id in known_type_ids or (base and base + type_id in known_urls):
            return None
        return Issue("error", loc, f"reference {short(ref)} does not resolve to any entry of the bundle", "not-found")
    return Issue(
        "error", loc, f"reference {short(ref)} does not resolve to any entry fullUrl of the bundle", "not-found"
    )
