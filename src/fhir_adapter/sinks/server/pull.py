"""Pull trials back from a FHIR server: :func:`pull` writes ``DIR/<NCTID>.json`` collection bundles.

Searches ResearchStudy (identifier, condition, status, phase, ``_lastUpdated``; our status and phase words mapped
to the server's release, and a criterion the server offers no search parameter for checked here:
``sinks.server.search``), follows ``next`` links (a link seen
before is a :class:`~fhir_adapter.errors.PagingLoopError`), asks for ``_include=*`` (HAPI honours it; the Medplum
front answers 400 to ``*``, so the search is repeated without it), then fetches every still missing referenced
resource, transitively, by type in batches (``GET Type?_id=a,b,c``), and every resource named by a canonical (a
PlanDefinition action's ``definitionCanonical``: ``GET ActivityDefinition?url=a,b,c``, then PlanDefinition for the
rest), each at most once; writes ``DIR/<NCTID>.json``
collection bundles whose entries keep the server's ``Type/id`` references and carry ``fullUrl`` ``<base>/Type/id``,
which ``from_bundle`` resolves. https://hl7.org/fhir/R5/search.html

Any writer's trials, not only fhir-adapter's (issue 11): contained resources travel inside their study (``#id``
references are not fetched), relative and absolute references into this server are followed, an absolute reference
to another server is not fetched from this one (it could name another resource with the same ``Type/id``: a
problem line says so), and a study without an NCT id is written under its own identifier
(``fhir.foreign.study_key``: ``DIR/<identifier>.json``, else ``DIR/ResearchStudy-<id>.json``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from fhir_adapter.errors import FhirServerError, OutputError
from fhir_adapter.fhir.foreign import study_key
from fhir_adapter.release import FhirRelease
from fhir_adapter.sinks.files import OutputFolder, UnusableId, output_stem
from fhir_adapter.sinks.server.client import FhirClient
from fhir_adapter.sinks.server.entries import canonicals_of, refs_of, type_id
from fhir_adapter.sinks.server.search import SearchPlan, plan_search

__all__ = ["PullSummary", "SearchQuery", "pull", "search_params"]

log = logging.getLogger(__name__)

SEARCH_COUNT = 100
IDENTIFIER_CHUNK = 20
STREAM_TARGET = "stdout"  # where a bundle written on a stream went, for the per-study line

# "Type/id" -> the resource, for everything read from the server
_Resources = dict[str, dict[str, Any]]
# (NCT id, where its bundle went: the file's path or "stdout", number of resources)
OnStudy = Callable[[str, str, int], None]


@dataclass(slots=True)
class SearchQuery:
    """What to pull, in our words: ``status`` a study status (``recruiting``, ``RECRUITING``, ``Not yet
    recruiting``, or a research-study-status code), ``phase`` a phase (``2``, ``phase 2``, ``II``, ``phase-2``),
    ``condition`` a text; ``sinks.server.search`` maps them to the server's release and search parameters."""

    identifiers: list[str] = field(default_factory=list)
    condition: str | None = None
    status: str | None = None
    phase: str | None = None
    updated_since: str | None = None  # YYYY-MM-DD (or a FHIR dateTime)
    condition_modifier: str = ":text"  # "" for an exact token match on code / text


def search_params(query: SearchQuery, fhir_version: str, offered: frozenset[str] | None = None) -> list[dict[str, str]]:
    """The ResearchStudy search(es) of a query on a server of ``fhir_version`` offering the ResearchStudy search
    parameters ``offered`` (None: all): one per chunk of identifiers (comma-ORed), else one."""
    return _searches(query, _plan(query, FhirRelease.parse(fhir_version), offered))


def _plan(query: SearchQuery, release: FhirRelease, offered: frozenset[str] | None) -> SearchPlan:
    return plan_search(
        condition=query.condition,
        status=query.status,
        phase=query.phase,
        release=release,
        offered=offered,
        condition_modifier=query.condition_modifier,
    )


def _searches(query: SearchQuery, plan: SearchPlan) -> list[dict[str, str]]:
    from fhir_adapter.terminology import system

    base: dict[str, str] = {"_count": str(SEARCH_COUNT), "_include": "*", **plan.params}
    if query.updated_since:
        base["_lastUpdated"] = f"ge{query.updated_since}"
    if not query.identifiers:
        return [base]
    nct = system("nct")
    ids = list(dict.fromkeys(query.identifiers))
    return [
        {**base, "identifier": ",".join(f"{nct}|{i}" for i in ids[k : k + IDENTIFIER_CHUNK])}
        for k in range(0, len(ids), IDENTIFIER_CHUNK)
    ]


@dataclass(slots=True)
class PullSummary:
    studies: int = 0
    written: list[Path] = field(default_factory=list)  # the bundle files (none when written to a stream)
    # the NCT ids (a study without one: its own identifier, ``fhir.foreign.study_key``) whose bundle was written
    pulled: list[str] = field(default_factory=list)
    resources: int = 0
    requests: int = 0
    problems: list[str] = field(default_factory=list)  # one line each (missing references, duplicate NCT ids)
    notes: list[str] = field(default_factory=list)  # how the search was made (criteria checked here, not on the server)
    searched: list[str] = field(default_factory=list)  # the criteria, in words: server-side parameters, then filters
    returned: int = 0  # ResearchStudy matches the server returned, before the filters applied here


def pull(
    client: FhirClient,
    output: Path | BinaryIO,
    query: SearchQuery,
    on_study: OnStudy | None = None,
    on_note: Callable[[str], None] | None = None,
) -> PullSummary:
    """Search ResearchStudy, fetch what the studies reference, write one collection bundle per NCT id: into the
    folder ``output`` (``<NCTID>.json``), or as one compact line each on the binary stream ``output`` (``pull -o -``,
    as ``convert -o -``: https://hl7.org/fhir/R5/nd-json.html). A status or phase word that names nothing is a
    ``sinks.server.search.SearchWordError`` (a ``ValueError``), raised before any search. ``on_note`` gets each line
    of :attr:`PullSummary.notes` as soon as the search is planned (a criterion checked here instead of on the
    server)."""
    client.check_version()
    summary = PullSummary()
    folder = None
    if isinstance(output, Path):
        output.mkdir(parents=True, exist_ok=True)
        folder = OutputFolder(output)  # the server's identifiers are untrusted: names via output_stem, atomic writes
    try:
        studies, have = _matching_studies(client, query, summary, on_note)
        _fetch_references(client, list(studies), have, summary)
        noted = len(summary.notes)
        provenance = _provenance_of(client, list(studies), have, summary)
        for note in summary.notes[noted:]:
            if on_note is not None:
                on_note(note)
        _write_studies(client, _writer(folder, output), studies, have, summary, on_study, provenance)
    finally:
        if folder is not None:
            folder.close()
    return summary


def _writer(folder: OutputFolder | None, output: Path | BinaryIO) -> Callable[[str, dict[str, Any]], Path | None]:
    """What writes one study's bundle: a file of ``folder`` (its path), else a line of the stream (None)."""

    def to_file(nct: str, bundle: dict[str, Any]) -> Path:
        assert folder is not None
        return folder.write_file(f"{output_stem(nct)}.json", orjson.dumps(bundle, option=orjson.OPT_INDENT_2) + b"\n")

    def to_stream(nct: str, bundle: dict[str, Any]) -> None:
        assert not isinstance(output, Path)
        output.write(orjson.dumps(bundle) + b"\n")
        output.flush()

    return to_file if folder is not None else to_stream


def _matching_studies(
    client: FhirClient, query: SearchQuery, summary: PullSummary, on_note: Callable[[str], None] | None
) -> tuple[_Resources, _Resources]:
    """(the ResearchStudy matches by ``Type/id``, every resource the searches returned by ``Type/id``)."""
    studies: _Resources = {}
    have: _Resources = {}
    plan = _plan(query, client.fhir_version, client.search_parameters("ResearchStudy"))
    summary.notes += plan.notes
    if on_note is not None:
        for note in plan.notes:
            on_note(note)
    summary.searched = [f"{k}={v}" for k, v in plan.params.items()] + [f"{f.what} (checked here)" for f in plan.filters]
    for params in _searches(query, plan):
        for page in _search_with_include(client, params):
            summary.requests += 1
            for e in page.get("entry", []):
                r = e.get("resource")
                if not isinstance(r, dict) or not r.get("id") or not r.get("resourceType"):
                    continue
                have[f"{r['resourceType']}/{r['id']}"] = r
                if r["resourceType"] != "ResearchStudy" or e.get("search", {}).get("mode", "match") != "match":
                    continue
                summary.returned += 1
                if plan.keeps(r):
                    studies[f"ResearchStudy/{r['id']}"] = r
    return studies, have


def _fetch_references(client: FhirClient, frontier: list[str], have: _Resources, summary: PullSummary) -> None:
    """The transitive closure of ``frontier`` fetched into ``have``, level by level, each resource once: its
    references (``Type/id``, by ``_id``) and its canonicals (a PlanDefinition action's ``definitionCanonical`` ->
    ActivityDefinition, by ``url``); targets the server does not hold are problems."""
    done: set[str] = set()
    by_url = _by_url(have)
    while frontier:
        refs: list[str] = []
        canonicals: list[str] = []
        for key in frontier:
            done.add(key)
            refs += [t for t in (type_id(v) for v in _local_refs(client.base_url, have[key], summary)) if t]
            canonicals += canonicals_of(have[key])
        refs = [r for r in dict.fromkeys(refs) if r not in done]
        missing = client.fetch(refs, have)
        summary.requests += len({r.partition("/")[0] for r in refs if r not in have or r in missing})
        for m in missing:
            summary.problems.append(f"{m}: referenced but not found on the server")
        frontier = [r for r in refs if r in have and r not in done]
        frontier += [t for t in _canonical_targets(client, canonicals, have, by_url, summary) if t not in done]
        frontier = list(dict.fromkeys(frontier))


def _local_refs(base_url: str, resource: dict[str, Any], summary: PullSummary | None = None) -> list[str]:
    """The references of ``resource`` that name a resource of this server: relative (``Type/id``) or absolute under
    ``base_url``; contained (``#id``, they travel inside) and ``urn:`` ones are not; an absolute reference to another
    server is a problem (when ``summary`` is given), never fetched from this one."""
    out: list[str] = []
    for ref in refs_of(resource):
        if ref.startswith(("#", "urn:")):
            continue
        if "://" in ref and not ref.startswith(base_url + "/"):
            line = f"{ref}: on another server; not followed"
            if summary is not None and line not in summary.problems:
                summary.problems.append(line)
            continue
        out.append(ref)
    return out


def _canonical_targets(
    client: FhirClient, canonicals: list[str], have: _Resources, by_url: dict[str, str], summary: PullSummary
) -> list[str]:
    """The ``Type/id`` of the resources ``canonicals`` name, those not yet held fetched by ``url``
    (``FhirClient.fetch_canonicals``); a canonical the server does not hold is a problem."""
    wanted = list(dict.fromkeys(canonicals))
    todo = [u for u in wanted if u not in by_url]
    if todo:
        found, searches = client.fetch_canonicals(todo, have)
        summary.requests += searches
        by_url.update(found)
        summary.problems += [f"{u}: canonical referenced but not found on the server" for u in todo if u not in found]
    return [by_url[u] for u in wanted if u in by_url]


def _by_url(have: _Resources) -> dict[str, str]:
    """canonical ``url`` -> ``Type/id`` of the resources held (the first one with each url)."""
    by_url: dict[str, str] = {}
    for key, r in have.items():
        if isinstance(r.get("url"), str) and r["url"]:
            by_url.setdefault(r["url"], key)
    return by_url


def _write_studies(
    client: FhirClient,
    write: Callable[[str, dict[str, Any]], Path | None],
    studies: _Resources,
    have: _Resources,
    summary: PullSummary,
    on_study: OnStudy | None,
    provenance: dict[str, list[str]],
) -> None:
    """One collection bundle per NCT id (a study without one: per ``study_key``): the study and its closure, then the
    Provenance resources that target the study; a second study with the same id is a problem."""
    by_nct: dict[str, str] = {}
    by_url = _by_url(have)
    for key, study in studies.items():
        nct = study_key(study)
        if nct in by_nct:
            summary.problems.append(
                f"{nct}: more than one ResearchStudy on the server ({by_nct[nct]}, {key}); kept {by_nct[nct]}"
            )
            continue
        by_nct[nct] = key
        members = _closure(key, have, by_url, client.base_url)
        members += [k for k in provenance.get(key, []) if k not in members]
        bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"fullUrl": f"{client.base_url}/{k}", "resource": have[k]} for k in members],
        }
        try:
            path = write(nct, bundle)
        except (UnusableId, OutputError) as e:
            summary.problems.append(f"{key}: cannot write its bundle: {e}")
            continue
        summary.studies += 1
        summary.resources += len(members)
        summary.pulled.append(nct)
        if path is not None:
            summary.written.append(path)
        if on_study is not None:
            on_study(nct, str(path) if path is not None else STREAM_TARGET, len(members))


def _search_with_include(client: FhirClient, params: dict[str, str]) -> Iterator[dict[str, Any]]:
    """The search with ``_include=*``; if the server refuses that (Medplum: 400 "'*' is not supported as a value
    for search inclusion parameters"), the same search without it (references are then fetched by id)."""
    if client.include_supported:
        pages = client.search_pages("ResearchStudy", params)
        try:
            first = next(pages)
        except StopIteration:
            return
        except FhirServerError as e:
            if e.status != 400:
                raise
            log.info("%s refuses _include=*: fetching references by id", client.base_url)
            client.include_supported = False
        else:
            yield first
            yield from pages
            return
    yield from client.search_pages("ResearchStudy", {k: v for k, v in params.items() if k != "_include"})


def _provenance_of(
    client: FhirClient, studies: list[str], have: _Resources, summary: PullSummary
) -> dict[str, list[str]]:
    """study ``Type/id`` -> the ``Type/id`` of the Provenance resources that target it (``GET
    Provenance?target=ResearchStudy/a,...``, https://hl7.org/fhir/R5/provenance.html#search), added to ``have``.
    A server that refuses the search costs the provenance only: a note, the trials are still written."""
    found: dict[str, list[str]] = {}
    for k in range(0, len(studies), IDENTIFIER_CHUNK):
        params = {"target": ",".join(studies[k : k + IDENTIFIER_CHUNK]), "_count": str(SEARCH_COUNT)}
        try:
            pages = list(client.search_pages("Provenance", params))
        except FhirServerError as refused:  # the trials are whole without it: a note, not a failure
            summary.notes.append(
                f"the server refused the Provenance search by target ({refused}): no Provenance pulled"
            )
            return found
        summary.requests += len(pages)
        for page in pages:
            for entry in page.get("entry", []):
                r = entry.get("resource")
                if not isinstance(r, dict) or r.get("resourceType") != "Provenance" or not r.get("id"):
                    continue
                key = f"Provenance/{r['id']}"
                have[key] = r
                for target in {
                    type_id(str(t.get("reference", ""))) for t in r.get("target", []) if isinstance(t, dict)
                }:
                    if target in studies[k : k + IDENTIFIER_CHUNK]:
                        found.setdefault(target, []).append(key)
    return found


def _closure(start: str, have: _Resources, by_url: dict[str, str], base_url: str) -> list[str]:
    """``start`` and what it reaches in ``have`` through references to this server and canonicals, breadth first."""
    order, stack, seen = [], [start], {start}
    while stack:
        key = stack.pop(0)
        order.append(key)
        refs = _local_refs(base_url, have[key])
        targets = [type_id(v) for v in refs] + [by_url.get(u) for u in canonicals_of(have[key])]
        for t in targets:
            if t and t in have and t not in seen:
                seen.add(t)
                stack.append(t)
    return order
