"""The exception tree of fhir-adapter and the CLI exit codes.

Every exception the library raises on purpose derives from ``FhirAdapterError``::

    FhirAdapterError
    ├── SourceError            an input file or record cannot be read (names file, record index, NCT id, field)
    │   ├── UnknownFormatError the input is none of the supported formats
    │   └── LimitExceeded      a record is over one of the explicit input limits (``fhir_adapter.limits``)
    ├── OutputError            the output folder (``-o``) cannot be used: a file, not creatable, not writable
    ├── MappingError           a Trial cannot be turned into FHIR, or FHIR back into a Trial
    ├── ValidationFailed       FHIR content has error-level issues (carries the ``Issue`` list)
    ├── HapiUnavailable        HAPI's validator cannot run: FHIR_ADAPTER_HAPI_JAR names no jar, or no java on PATH
    │                          (in ``fhir_adapter.validate.hapi``; ``validate --engine hapi`` exits USAGE)
    ├── CtgovApiError          the ClinicalTrials.gov API answered with an error or could not be reached
    │   └── StudyNotFound      an NCT id the API does not know (both in ``fhir_adapter.sources.ctgov_api``)
    └── FhirServerError        a FHIR server answered with an error, sent something unreadable, or could not be reached
        ├── FhirAuthError      credentials missing or refused (401/403, SMART token endpoint); never retried
        ├── FhirVersionMismatch the server's CapabilityStatement names another FHIR release than the one asked for
        ├── FhirTransportError no HTTP answer: unreachable, connection broken or timed out after the retries it counts,
        │                      TLS check failed, or the circuit breaker is open (in ``fhir_adapter._http``)
        ├── PagingLoopError    a search's ``next`` link repeats one already followed
        └── PagingLimitError   a search has more pages than its explicit limit (``FhirClient.search_pages``)

Bad input never surfaces as a traceback from the CLI: each of these is turned into one line and an exit code. Any
other exception is a bug: the CLI prints one ``internal error`` line (the traceback only with ``FHIR_ADAPTER_DEBUG=1``)
and exits with ``ExitCode.INTERNAL``.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fhir_adapter.issues import Issue


class ExitCode(IntEnum):
    """Stable exit codes of the ``fhir-adapter`` command, the same for every command (the README's table).

    ``INTERNAL`` (4) means fhir-adapter itself failed (an exception no input should cause): one line on stderr names
    the exception, ``FHIR_ADAPTER_DEBUG=1`` prints the traceback. Ctrl-C exits with 130 (128 + SIGINT), quietly."""

    OK = 0
    FAILED = 1  # at least one record, document, study or trial failed (the others were done), or a server failed
    # bad command line (typer/click's own code) or input the command cannot start with: -o naming a file, a bad NCT
    # id, a URL without an http(s) scheme, a tool it asks for missing (--engine hapi without the jar)
    USAGE = 2
    NO_INPUT = 3  # empty input: a path that does not exist, inputs without a record, a search that found nothing
    INTERNAL = 4  # a bug: an unexpected exception (one line; FHIR_ADAPTER_DEBUG=1 shows the traceback)
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT)


class FhirAdapterError(Exception):
    """Root of every error fhir-adapter raises on purpose."""


class SourceError(FhirAdapterError):
    """An input file or one record in it cannot be read."""

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        index: int | None = None,
        nct_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.path = path
        self.index = index
        self.nct_id = nct_id
        self.field = field
        super().__init__(self.describe())

    def describe(self) -> str:
        """One line: ``file[#index] NCT id field: message``."""
        where = self.path or "<input>"
        if self.index is not None:
            where += f"#{self.index}"
        parts = [where]
        if self.nct_id:
            parts.append(self.nct_id)
        if self.field:
            parts.append(self.field)
        return f"{' '.join(parts)}: {self.message}"


class UnknownFormatError(SourceError):
    """The input is none of the formats fhir-adapter reads."""


class LimitExceeded(SourceError):
    """A record is over one of the limits of ``fhir_adapter.limits.Limits`` (size, time, depth, list items, ZIP
    inflation, XML counts). The message names the limit and how to raise it; the record is reported, not written."""


class OutputError(FhirAdapterError):
    """The output folder cannot be used: it is a file, or it (or a parent) cannot be created or written."""


class MappingError(FhirAdapterError):
    """A Trial cannot be mapped to FHIR, or a FHIR resource cannot be mapped back to a Trial."""

    def __init__(self, message: str, *, nct_id: str | None = None, field: str | None = None) -> None:
        self.message = message
        self.nct_id = nct_id
        self.field = field
        prefix = " ".join(p for p in (nct_id, field) if p)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class ValidationFailed(FhirAdapterError):
    """FHIR content has error-level issues."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = issues
        errors = [i for i in issues if i.is_error]
        first = f": {errors[0]}" if errors else ""
        super().__init__(f"{len(errors)} validation error(s){first}")


class FhirServerError(FhirAdapterError):
    """A FHIR server answered with an error, sent something that is not the expected JSON, or could not be reached.

    ``issues`` are the server's OperationOutcome issues (dicts) when it sent one. Messages never hold credentials."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        url: str | None = None,
        issues: list[dict[str, Any]] | None = None,
    ) -> None:
        self.message = message
        self.status = status
        self.url = url
        self.issues = issues or []
        super().__init__(message)


class FhirAuthError(FhirServerError):
    """Credentials are missing, unreadable or refused (HTTP 401/403, or the SMART token endpoint said no)."""


class FhirVersionMismatch(FhirServerError):
    """The server's CapabilityStatement ``fhirVersion`` is not the FHIR release asked for (e.g. 4.0.1 vs R5)."""


class PagingLoopError(FhirServerError):
    """A search result's ``next`` link points to a page already read: following it would never end."""


class PagingLimitError(FhirServerError):
    """A search has more pages than the limit it was read with: the rest is not read, never silently."""
