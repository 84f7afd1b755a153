"""Build the trimmed FHIR R5 definitions subset used by ``fhir_adapter.validate.profile``.

Reads the official npm package ``hl7.fhir.r5.core@5.0.0`` and writes
``src/fhir_adapter/validate/definitions/r5-core-subset.json.gz``: the StructureDefinition snapshots of the resources
fhir-adapter emits (plus Bundle, OperationOutcome, ConceptMap) and every datatype they reach, trimmed to the fields
the validator uses, the ValueSets of the required bindings reached, pre-expanded to code lists per system, the
official regex of every primitive type and the names of all R5 resource types.

Usage::

    python tools/build_r5_definitions.py                      # runs `npm pack hl7.fhir.r5.core@5.0.0` in a temp dir
    python tools/build_r5_definitions.py path/to/hl7.fhir.r5.core-5.0.0.tgz [--out FILE]
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "hl7.fhir.r5.core"
VERSION = "5.0.0"
ROOT_TYPES = (
    "ResearchStudy",
    "EvidenceVariable",
    "PlanDefinition",
    "ActivityDefinition",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "Location",
    "Group",
    "Bundle",
    "OperationOutcome",
    "ConceptMap",
    "Provenance",
    "Evidence",
    "EvidenceReport",
)
# Abstract bases whose elements are already merged into every snapshot; nothing to walk into.
SKIP_TYPES = {
    "Base",
    "Element",
    "BackboneElement",
    "DataType",
    "BackboneType",
    "PrimitiveType",
    "Resource",
    "DomainResource",
}
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src/fhir_adapter/validate/definitions/r5-core-subset.json.gz"
TYPE_PREFIX = "http://hl7.org/fhir/StructureDefinition/"
REGEX_EXTENSION = "http://hl7.org/fhir/StructureDefinition/regex"


def npm_pack(workdir: Path) -> Path:
    """Download the package tarball with npm (the only network step)."""
    subprocess.run(["npm", "pack", f"{PACKAGE}@{VERSION}"], cwd=workdir, check=True, capture_output=True)
    return workdir / f"{PACKAGE}-{VERSION}.tgz"


def read_package(tgz: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return (resources by ``ResourceType/id`` file stem, metadata) from the npm tarball."""
    files: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    with tarfile.open(tgz, "r:gz") as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith(".json") or member.name.count("/") != 1:
                continue
            stream = tar.extractfile(member)
            if stream is None:
                continue
            raw = stream.read()
            name = member.name.split("/", 1)[1]
            if name == "package.json":
                pkg = json.loads(raw)
                meta = {
                    "package": pkg["name"],
                    "version": pkg["version"],
                    "fhirVersions": pkg.get("fhirVersions"),
                    "date": pkg.get("date"),
                    "package_json_sha256": hashlib.sha256(raw).hexdigest(),
                }
            elif name.split("-", 1)[0] in ("StructureDefinition", "ValueSet", "CodeSystem"):
                files[name[: -len(".json")]] = json.loads(raw)
    meta["tarball_sha256"] = hashlib.sha256(tgz.read_bytes()).hexdigest()
    return files, meta


def trim_element(el: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"path": el["path"], "min": el.get("min", 0), "max": el.get("max", "*")}
    types = []
    for t in el.get("type", []):
        code = t["code"]
        if code.startswith("http://hl7.org/fhirpath/System."):
            # id/extension/url of Element: FHIRPath system types, primitive in JSON.
            fhir_type = [x["valueUrl"] for x in t.get("extension", []) if x["url"].endswith("-fhir-type")]
            code = fhir_type[0] if fhir_type else "string"
        entry: dict[str, Any] = {"code": code}
        profiles = [p[len(TYPE_PREFIX) :] for p in t.get("profile", []) if p.startswith(TYPE_PREFIX)]
        if profiles:
            entry["profile"] = profiles
        types.append(entry)
    if types:
        out["type"] = types
    if "contentReference" in el:
        out["contentReference"] = el["contentReference"].split("#", 1)[1]
    binding = el.get("binding")
    if binding and binding.get("strength") == "required" and binding.get("valueSet"):
        out["binding"] = {"strength": "required", "valueSet": binding["valueSet"].split("|", 1)[0]}
    constraints = [
        {"key": c["key"], "human": c.get("human", ""), "expression": c["expression"]}
        for c in el.get("constraint", [])
        if c.get("severity") == "error" and c.get("expression")
    ]
    if constraints:
        out["constraint"] = constraints
    return out


def collect_types(files: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The StructureDefinitions of ROOT_TYPES and the closure of datatypes (and profiles) they reach."""
    sds = {k.split("-", 1)[1]: v for k, v in files.items() if k.startswith("StructureDefinition-")}
    out: dict[str, dict[str, Any]] = {}
    todo = list(ROOT_TYPES)
    while todo:
        name = todo.pop()
        if name in out or name in SKIP_TYPES:
            continue
        sd = sds.get(name)
        if sd is None or "snapshot" not in sd:
            sys.stderr.write(f"warning: no snapshot for {name}\n")
            continue
        elements = [trim_element(el) for el in sd["snapshot"]["element"]]
        out[name] = {"kind": sd["kind"], "type": sd["type"], "elements": elements}
        for el in elements:
            for t in el.get("type", []):
                todo.append(t["code"])
                todo.extend(t.get("profile", []))
    return out


def primitive_regexes(files: dict[str, Any]) -> dict[str, str]:
    """The official regex of every primitive type: the regex extension on the type of ``<type>.value``."""
    out: dict[str, str] = {}
    for key, sd in sorted(files.items()):
        if not key.startswith("StructureDefinition-") or sd.get("kind") != "primitive-type":
            continue
        for el in sd["snapshot"]["element"]:
            if el["path"] != sd["type"] + ".value":
                continue
            for t in el.get("type", []):
                regex = [x["valueString"] for x in t.get("extension", []) if x["url"] == REGEX_EXTENSION]
                if regex:
                    out[sd["type"]] = regex[0]
    return dict(sorted(out.items()))


def resource_types(files: dict[str, Any]) -> list[str]:
    """Every concrete resource type of the package (a type outside the subset is checked another way)."""
    return sorted(
        sd["type"]
        for key, sd in files.items()
        if key.startswith("StructureDefinition-")
        and sd.get("kind") == "resource"
        and sd.get("derivation") == "specialization"
        and not sd.get("abstract")
    )


def _concepts(concepts: list[dict[str, Any]]) -> list[str]:
    codes: list[str] = []
    for c in concepts:
        codes.append(c["code"])
        codes.extend(_concepts(c.get("concept", [])))
    return codes


def expand_valueset(
    url: str, vs_by_url: dict[str, Any], cs_by_url: dict[str, Any], seen: frozenset[str] = frozenset()
) -> dict[str, list[str]] | None:
    """Expand a ValueSet from ``compose`` into ``{system: [codes]}``; None if it cannot be expanded offline."""
    vs = vs_by_url.get(url)
    if vs is None or url in seen or "compose" not in vs:
        return None
    result: dict[str, set[str]] = {}
    for inc in vs["compose"].get("include", []):
        if inc.get("filter"):
            return None
        if "valueSet" in inc:
            if "system" in inc or "concept" in inc:
                return None
            for sub in inc["valueSet"]:
                expanded = expand_valueset(sub.split("|", 1)[0], vs_by_url, cs_by_url, seen | {url})
                if expanded is None:
                    return None
                for system, codes in expanded.items():
                    result.setdefault(system, set()).update(codes)
            continue
        system = inc.get("system")
        if not system:
            return None
        if "concept" in inc:
            result.setdefault(system, set()).update(c["code"] for c in inc["concept"])
            continue
        cs = cs_by_url.get(system)
        if cs is None or cs.get("content") != "complete":
            return None
        result.setdefault(system, set()).update(_concepts(cs.get("concept", [])))
    for exc in vs["compose"].get("exclude", []):
        if exc.get("filter") or "valueSet" in exc or "concept" not in exc:
            return None
        result.get(exc.get("system", ""), set()).difference_update(c["code"] for c in exc["concept"])
    return {system: sorted(codes) for system, codes in sorted(result.items())}


def build(tgz: Path) -> dict[str, Any]:
    files, meta = read_package(tgz)
    types = collect_types(files)
    vs_by_url = {v["url"]: v for k, v in files.items() if k.startswith("ValueSet-")}
    cs_by_url = {v["url"]: v for k, v in files.items() if k.startswith("CodeSystem-")}
    value_sets: dict[str, dict[str, list[str]] | None] = {}
    for sd in types.values():
        for el in sd["elements"]:
            if "binding" in el:
                url = el["binding"]["valueSet"]
                if url not in value_sets:
                    value_sets[url] = expand_valueset(url, vs_by_url, cs_by_url)
    meta["root_types"] = list(ROOT_TYPES)
    meta["unexpandable_value_sets"] = sorted(u for u, v in value_sets.items() if v is None)
    meta["builder"] = "tools/build_r5_definitions.py"
    return {
        "metadata": meta,
        "types": dict(sorted(types.items())),
        "valueSets": dict(sorted(value_sets.items())),
        "primitiveRegexes": primitive_regexes(files),
        "resourceTypes": resource_types(files),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tarball", nargs="?", type=Path, help=f"{PACKAGE}-{VERSION}.tgz (default: npm pack it)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        tgz = args.tarball or npm_pack(Path(tmp))
        data = build(tgz)
    payload = json.dumps(data, separators=(",", ":"), sort_keys=False).encode()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    # mtime=0: the same input gives byte-identical output.
    with open(args.out, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=9) as gz:
        gz.write(payload)
    n_vs = sum(v is not None for v in data["valueSets"].values())
    sys.stdout.write(
        f"{args.out}: {len(data['types'])} types, {n_vs}/{len(data['valueSets'])} value sets expanded, "
        f"{len(payload)} bytes JSON, {args.out.stat().st_size} bytes gzipped\n"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
