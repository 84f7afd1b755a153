"""Explicit limits on untrusted input, so that one hostile record costs that record only.

Every input is untrusted (a hospital's integration engine feeds the adapter whatever arrives). Each limit below is
checked where the input is read or converted; a record over a limit is reported (file, record, field, the limit and
how to raise it) as ``fhir_adapter.errors.LimitExceeded`` and never half-written. The defaults sit far above any real
ClinicalTrials.gov record (the largest fixture, NCT02513394 with posted results, is 1.5 MB, 465 resources, depth 11,
1,012 sites) and far below what would hang the converter or exhaust memory on the 2-core, 24 GB machine it is sized
for.

``fhir-adapter convert`` exposes each limit as an option (``--max-record-mb``, ``--limit max-zip-ratio=N`` ...); the
Python API takes a ``Limits``.
"""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-record and per-archive limits (see the module docstring for why each default is what it is)."""

    # One record's raw bytes (a file, a ZIP member, an NDJSON line, one study of a multi-study document).
    max_record_bytes: int = 32 * MB
    # Wall-clock seconds to read, map, validate and serialise one record, enforced in the worker. The heaviest real
    # record (NCT02513394, 465 resources) takes about 0.3 s: 20 s leaves a wide margin on a loaded machine.
    max_record_seconds: float = 20.0
    # Nesting depth of a JSON document (real v2 records with results reach about 11 levels).
    max_json_depth: int = 64
    # Items of one list-valued field (locations, outcomes, conditions, keywords, criteria ...).
    max_list_items: int = 20_000
    # ZIP archives: bytes of one member once inflated, counted while streaming (declared sizes are not trusted) ...
    max_member_bytes: int = 256 * MB
    # ... the inflated-to-compressed ratio of a member (real XML/JSON compress about 5-20x) ...
    max_zip_ratio: int = 200
    # ... and the inflated bytes of all members of one archive together.
    max_archive_bytes: int = 8 * 1024 * MB
    # XML: elements of one document, and attributes of one element (legacy records use almost none).
    max_xml_elements: int = 1_000_000
    max_xml_attributes: int = 256
    # A FIFO named as an input: seconds to wait for each piece of data before it is reported and the run goes on.
    fifo_wait_seconds: float = 10.0


DEFAULT_LIMITS = Limits()


__all__ = ["DEFAULT_LIMITS", "MB", "Limits"]
