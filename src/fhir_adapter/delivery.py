"""Push from any input: the pipeline's reading, mapping and validation in front of the FHIR server sink.

``fhir-adapter push`` takes converted bundles and raw inputs alike. Raw inputs go through the pipeline
(:func:`fhir_adapter.pipeline.iter_outcomes`: the readers, mappers and validation ``convert`` runs); Bundle files
(collection or transaction, any origin) are validated with :func:`fhir_adapter.validate.validate` for the server's
release. Only valid bundles reach :func:`~fhir_adapter.sinks.server.push.push_bundles`: a record that cannot be
read, mapped or validated is never sent. It is counted failed, reported through ``on_input_error`` (one line per
message) and, when an :class:`~fhir_adapter.sinks.ErrorLog` is given, listed in ``errors.jsonl`` with the same
fields as ``convert``'s (source, index, nct_id, stage, message).

Raw inputs are converted for the server's release (the client's, once it has read the CapabilityStatement). A Bundle
file written for the other release (an R5 bundle for an R4 server) stops the push with one
:class:`BundleReleaseMismatch` naming the file and the command that converts for the server, instead of a rejected
entry per resource.

Once the push has stopped (credentials refused, the server gone, the wrong release), the rest of the inputs is only
read, not mapped or validated, to list its trials as not attempted. Layering: docs/architecture.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from fhir_adapter.errors import FhirVersionMismatch, LimitExceeded
from fhir_adapter.outcome import Outcome
from fhir_adapter.pipeline import ConvertOptions, iter_outcomes
from fhir_adapter.release import FhirRelease
from fhir_adapter.sinks import ErrorLog
from fhir_adapter.sinks.server import FhirClient, PushResult, PushStop, PushSummary, TrialBundle, push_bundles
from fhir_adapter.sinks.server.entries import nct_of
from fhir_adapter.sources import input_files, read_records

__all__ = ["BundleReleaseMismatch", "failure_lines", "push_paths"]

_BUNDLE_PEEK = 4096  # bytes read to tell a FHIR Bundle file from a raw input


class BundleReleaseMismatch(FhirVersionMismatch):
    """A Bundle file is written in another FHIR release than the server speaks: nothing of it can go in as it is."""


def push_paths(
    client: FhirClient,
    paths: Iterable[str | Path],
    *,
    mode: str = "transaction",
    batch_size: int = 1,
    on_result: Callable[[PushResult], None] | None = None,
    on_input_error: Callable[[str], None] | None = None,
    on_not_attempted: Callable[[str, str], None] | None = None,
    error_log: ErrorLog | None = None,
    definitions: bool = False,
) -> PushSummary:
    """Read, map and validate the inputs, push the valid bundles (see the module docstring); records that fail
    before the push count as failed trials, listed in ``PushSummary.input_errors``. ``definitions``: send the
    published definitions the trials use first (``sinks.server.push.push_bundles``)."""
    failed: list[Outcome] = []
    lines: list[str] = []

    def report(o: Outcome) -> None:
        failed.append(o)
        for line in failure_lines(o):
            lines.append(line)
            if on_input_error is not None:
                on_input_error(line)
        if error_log is not None:
            error_log.add(o)

    stop = PushStop()
    summary = push_bundles(
        client,
        _trials(paths, client, stop, report),
        mode=mode,
        batch_size=batch_size,
        on_result=on_result,
        on_not_attempted=on_not_attempted,
        stop=stop,
        definitions=definitions,
    )
    summary.input_errors = lines
    summary.failed += len(failed)
    return summary


def failure_lines(o: Outcome) -> list[str]:
    """One line per message of a failed record, as ``convert`` prints it: a read error names its source itself."""
    if o.stage in ("read", "limit"):
        return list(o.messages)
    nct = f" {o.nct_id}" if o.nct_id else ""
    return [f"{o.where}{nct}: {o.stage}: {m}" for m in o.messages]


def _trials(
    paths: Iterable[str | Path], client: FhirClient, stop: PushStop, report: Callable[[Outcome], None]
) -> Iterator[TrialBundle]:
    """The valid trial bundles of the inputs, in input order; failures go to ``report``. Once ``stop.reason`` is
    set, the trials are only named (no entries). The release is the client's when the first trial is asked for:
    ``push_bundles`` has read the server's CapabilityStatement by then."""
    release = client.fhir_version
    options = ConvertOptions(fhir_version=release)
    for path in input_files(paths):
        bundle = _bundle_file(path)
        if bundle is not None:
            trial = _bundle_trial(path, bundle, release, stop, report)
            if trial is not None:
                yield trial
            continue
        seen: set[int | None] = set()
        if stop.reason is None:
            outcomes = iter_outcomes([path], options)
            for o in outcomes:
                seen.add(o.index)
                if not o.ok:
                    report(o)
                    continue
                yield TrialBundle(o.nct_id or "", o.where, orjson.loads(o.payload)["entry"])
                if stop.reason is not None:  # the rest of this input is only listed
                    outcomes.close()
                    break
        if stop.reason is not None:
            yield from _named(path, seen, report)


def _named(path: Path, seen: set[int | None], report: Callable[[Outcome], None]) -> Iterator[TrialBundle]:
    """The records of ``path`` not in ``seen`` (by index), read but not mapped: bundles without entries."""
    for record in read_records([path]):
        src = record.source
        if src.index in seen:
            continue
        if record.error is not None:
            stage = "limit" if isinstance(record.error, LimitExceeded) else "read"
            report(Outcome(src.path, src.index, record.error.nct_id, False, stage, [record.error.describe()]))
            continue
        assert record.trial is not None
        yield TrialBundle(record.trial.nct_id or "", src.path, [])


def _bundle_trial(
    path: Path, bundle: dict[str, Any], release: FhirRelease, stop: PushStop, report: Callable[[Outcome], None]
) -> TrialBundle | None:
    """The trial of a Bundle file: one ResearchStudy with an NCT id, and no validation error (not validated once
    the push has stopped: it is only named then)."""
    from fhir_adapter.bundle import fhir_release
    from fhir_adapter.validate import validate

    entries = [e for e in bundle.get("entry", []) if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    studies = [e["resource"] for e in entries if e["resource"].get("resourceType") == "ResearchStudy"]
    nct = nct_of(studies[0]) if len(studies) == 1 else None
    if nct is None:
        message = f"{path}: a trial bundle needs exactly one ResearchStudy with an NCT id (found {len(studies)})"
        report(Outcome(str(path), None, None, False, "read", [message]))
        return None
    if stop.reason is not None:
        return TrialBundle(nct, str(path), [])
    written = fhir_release(studies[0])
    if written != release:
        raise BundleReleaseMismatch(
            f"{path} is a FHIR {written} bundle and the server speaks {release}: convert the inputs for it "
            f"(fhir-adapter convert INPUT... --fhir-version {release} -o DIR) and push those, or push the raw "
            f"inputs (they are converted for the server's release)"
        )
    errors = [str(i) for i in validate(bundle, release) if i.is_error]
    if errors:
        report(Outcome(str(path), None, nct, False, "validate", errors))
        return None
    return TrialBundle(nct, str(path), entries)


def _bundle_file(path: Path) -> dict[str, Any] | None:
    """The FHIR Bundle a ``.json`` file holds, else None (the file is a raw input for the readers)."""
    if path.suffix.lower() != ".json":
        return None
    try:
        with path.open("rb") as f:
            head = f.read(_BUNDLE_PEEK)
        if b'"Bundle"' not in head:
            return None
        doc = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    return doc if isinstance(doc, dict) and doc.get("resourceType") == "Bundle" else None
