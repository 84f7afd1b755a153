"""The FHIR server sink: push trial bundles to a FHIR server and pull them back.

- :mod:`.auth`: credentials (bearer token, HTTP basic, SMART backend services) and :func:`~.auth.redact`;
- :mod:`.client`: :class:`FhirClient`, the REST client (transport on ``fhir_adapter._http``: TLS, retries, breaker);
- :mod:`.entries`: what push and pull share (trial bundles, results, reference helpers);
- :mod:`.push` and :mod:`.push_staged`: :func:`push_bundles` in the transaction, batch and resource modes;
- :mod:`.push_pool`: the chunks of a push on several connections at once, without races on shared keys;
- :mod:`.pull`: :func:`pull`, ResearchStudy search -> collection bundles.

Nothing here reads raw input: ``fhir_adapter.delivery`` runs the pipeline (read, map, validate) and hands the
valid bundles to :func:`push_bundles`. Layering: docs/architecture.md.
"""

from __future__ import annotations

from fhir_adapter._http import FhirTransportError
from fhir_adapter.sinks.server.client import FhirClient
from fhir_adapter.sinks.server.entries import PUSH_MODES, EntryIssue, PushResult, PushSummary, TrialBundle, prepare
from fhir_adapter.sinks.server.pull import PullSummary, SearchQuery, pull, search_params
from fhir_adapter.sinks.server.push import PushStop, push_bundles, read_back

__all__ = [
    "PUSH_MODES",
    "EntryIssue",
    "FhirClient",
    "FhirTransportError",
    "PullSummary",
    "PushResult",
    "PushStop",
    "PushSummary",
    "SearchQuery",
    "TrialBundle",
    "prepare",
    "pull",
    "push_bundles",
    "read_back",
    "search_params",
]
