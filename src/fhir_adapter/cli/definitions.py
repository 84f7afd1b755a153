"""``fhir-adapter definitions``: write fhir-adapter's published definitions (CodeSystems, ValueSets, extension
StructureDefinitions) to a folder, for a validator or a server.

They are the files of ``mappings/definitions/<release>`` (:mod:`fhir_adapter.definitions`): load the folder into
HL7's validator (``-ig DIR``), HAPI's (``--definitions DIR`` of ``validators/hapi``) or PUT each file to a server
(``push`` does that itself for the definitions the pushed bundles use).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fhir_adapter.cli.common import Release, check_output, err, make_output
from fhir_adapter.release import DEFAULT_RELEASE


def definitions(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Folder for the <ResourceType>-<id>.json definition files.")
    ],
    fhir_version: Release = DEFAULT_RELEASE,
) -> None:
    """Write fhir-adapter's CodeSystems, ValueSets and extension StructureDefinitions to a folder.

    One JSON file per definition, ``<ResourceType>-<id>.json``, of the release given by --fhir-version: the
    ClinicalTrials.gov enum code systems, fhir-adapter's own code systems and extensions. Load the folder into a
    validator, or PUT the files to a server, so that our codes and extensions are checked instead of unknown.
    """
    import orjson

    from fhir_adapter.definitions import definitions as published

    check_output(output)
    folder = make_output(output)
    written = 0
    for resource in published(fhir_version):
        path = folder / f"{resource['resourceType']}-{resource['id']}.json"
        path.write_bytes(orjson.dumps(resource, option=orjson.OPT_INDENT_2) + b"\n")
        written += 1
    err(f"{written} definitions ({fhir_version.value}) written to {folder}")
