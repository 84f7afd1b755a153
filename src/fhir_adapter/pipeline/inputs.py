"""What the pipeline reads: the units of each input (a reader bug while cutting one input costs the rest of that
input only), and the input files that sit in the output folder, which no output may replace."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from fhir_adapter.errors import SourceError
from fhir_adapter.limits import Limits
from fhir_adapter.pipeline.stages import internal_message
from fhir_adapter.sinks.files import OutputFolder, file_identity
from fhir_adapter.sources import STDIN, Unit, input_files, iter_units


def guarded_units(inputs: Iterable[str | Path], limits: Limits) -> Iterator[Unit]:
    """The units of each input; a reader bug while cutting an input costs the rest of that input only."""
    for item in inputs:
        units = iter_units([item], limits)
        while True:
            try:
                unit = next(units, None)
            except Exception as e:
                message = f"{internal_message('reader', e)}; the rest of this input was skipped"
                yield Unit(str(item), error=SourceError(message, path=str(item)))
                break
            if unit is None:
                break
            yield unit


def input_identities(inputs: Iterable[str | Path], folder: OutputFolder) -> set[tuple[int, int]]:
    """(device, inode) of the input files that live directly in the output folder: these must never be replaced.

    Files named on the command line are checked one by one; a folder is walked only when the output folder is
    inside it (otherwise none of its files can be an entry of the output folder)."""
    found: set[tuple[int, int]] = set()
    parents: dict[Path, tuple[int, int] | None] = {}  # a folder walk meets few distinct parents: stat each once
    for item in inputs:
        if str(item) == STDIN:
            continue
        p = Path(item)
        if p.is_dir():
            try:
                inside = folder.path.is_relative_to(p.resolve())
            except OSError:
                inside = False
            files: Iterable[Path] = input_files([p]) if inside else ()
        else:
            files = [p]
        for f in files:
            if f.parent not in parents:
                parents[f.parent] = file_identity(str(f.parent))
            if parents[f.parent] == folder.identity:
                key = file_identity(str(f))
                if key is not None:
                    found.add(key)
    return found


__all__ = ["guarded_units", "input_identities"]
