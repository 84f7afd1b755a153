"""``fhir-adapter convert``: trial records -> FHIR Bundles (or NDJSON) in a folder, validated by default."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from fhir_adapter.cli.common import err, out, require_paths
from fhir_adapter.errors import ExitCode, FhirAdapterError


class FhirVersion(StrEnum):
    R5 = "R5"


class BundleType(StrEnum):
    collection = "collection"
    transaction = "transaction"


def convert(
    inputs: Annotated[list[Path], typer.Argument(help="Files or folders: ClinicalTrials.gov v2 JSON, trial pages.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder to write <NCTID>.json bundles into.")],
    fhir_version: Annotated[FhirVersion, typer.Option("--fhir-version", help="FHIR release.")] = FhirVersion.R5,
    bundle: Annotated[BundleType, typer.Option("--bundle", help="Bundle type.")] = BundleType.collection,
    ndjson: Annotated[bool, typer.Option("--ndjson", help="Write one <ResourceType>.ndjson per type.")] = False,
    do_validate: Annotated[bool, typer.Option("--validate/--no-validate", help="Validate every bundle.")] = True,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List every reader warning.")] = False,
) -> None:
    """Convert trial records to FHIR. Exit 0 only if every record converted (and validated)."""
    import orjson

    from fhir_adapter.bundle import to_bundle
    from fhir_adapter.sources import read_records
    from fhir_adapter.validate import validate

    require_paths(inputs)
    output.mkdir(parents=True, exist_ok=True)
    sink = _NdjsonSink(output) if ndjson else None
    seen: set[str] = set()
    converted = failed = 0
    try:
        for record in read_records(inputs):
            where = record.source.path + (f"#{record.source.index}" if record.source.index is not None else "")
            if record.error is not None:
                failed += 1
                err(f"FAILED {record.error.describe()}")
                continue
            trial = record.trial
            assert trial is not None and trial.nct_id is not None
            try:
                doc = to_bundle(trial, fhir_version.value, bundle.value)
            except FhirAdapterError as e:
                failed += 1
                err(f"FAILED {where} {trial.nct_id}: mapping: {e}")
                continue
            issues = validate(doc, fhir_version.value) if do_validate else []
            errors = [i for i in issues if i.is_error]
            warnings = [i for i in trial.issues if i.severity == "warning"]
            if trial.nct_id in seen:
                err(f"warning: {where} {trial.nct_id}: NCT id seen before in this run; the later record wins")
            seen.add(trial.nct_id)
            if sink is not None:
                sink.write(doc)
                target = "NDJSON"
            else:
                path = output / f"{trial.nct_id}.json"
                path.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2) + b"\n")
                target = str(path)
            for issue in trial.issues if verbose else []:
                err(f"  {trial.nct_id} {issue.severity}: {issue.location}: {issue.message}")
            if errors:
                failed += 1
                err(f"INVALID {where} {trial.nct_id}: {len(errors)} validation error(s)")
                for issue in errors:
                    err(f"  {trial.nct_id} {issue}")
                continue
            converted += 1
            out(f"ok {trial.nct_id} -> {target} ({len(doc['entry'])} resources, {len(warnings)} warnings)")
    finally:
        if sink is not None:
            sink.close()
    out(f"{converted} converted, {failed} failed")
    if failed or converted == 0:
        raise typer.Exit(ExitCode.FAILED if failed else ExitCode.NO_INPUT)


class _NdjsonSink:
    """One ``<ResourceType>.ndjson`` file per type (FHIR Bulk Data layout), one resource per line."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.files: dict[str, Any] = {}

    def write(self, bundle: dict[str, Any]) -> None:
        import orjson

        for entry in bundle["entry"]:
            resource = entry["resource"]
            rtype = resource["resourceType"]
            if rtype not in self.files:
                self.files[rtype] = (self.folder / f"{rtype}.ndjson").open("wb")
            self.files[rtype].write(orjson.dumps(resource) + b"\n")

    def close(self) -> None:
        for f in self.files.values():
            f.close()
