"""Build ``mappings/iso3166-countries.json``: ClinicalTrials.gov country names -> ISO 3166-1 alpha-2 codes.

One-off generator (the runtime reads only the JSON table, ``fhir_adapter.fhir.r5.parties``). The ISO list comes from
Debian's ``iso-codes`` package (https://salsa.debian.org/iso-codes-team/iso-codes, the data pycountry ships as
``pycountry/databases/iso3166-1.json``): ``/usr/share/iso-codes/json/iso_3166-1.json`` after
``apt-get install iso-codes``, or the pycountry copy. Names ClinicalTrials.gov writes otherwise than ISO's short,
common or official name are the explicit rows of ``CTGOV`` below, each with its reason.

Usage::

    python tools/build_iso3166_table.py [path/to/iso_3166-1.json] [--out mappings/iso3166-countries.json]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

DEBIAN = Path("/usr/share/iso-codes/json/iso_3166-1.json")
OUT = Path(__file__).resolve().parents[1] / "mappings" / "iso3166-countries.json"

# ct.gov name -> (ISO 3166-1 alpha-2 code or None, why). Codes are checked against the ISO list when building.
CTGOV: dict[str, tuple[str | None, str]] = {
    "Turkey": ("TR", "ISO short name 'Türkiye' since 2022; ct.gov records (legacy XML fixtures) still write 'Turkey'"),
    "Czech Republic": (
        "CZ",
        "ISO short name 'Czechia' since 2016 ('Czech Republic' is ISO's full name); older records",
    ),
    "Taiwan": ("TW", "ISO short name 'Taiwan, Province of China'; ct.gov writes 'Taiwan' (fixture NCT02513394)"),
    "Tanzania": ("TZ", "ISO short name 'Tanzania, United Republic of'; ct.gov writes 'Tanzania' (legacy XML fixture)"),
    "Macedonia, The Former Yugoslav Republic of": (
        "MK",
        "ISO short name until 2019 (now 'North Macedonia'); records registered before then keep it",
    ),
    "Swaziland": ("SZ", "ISO short name until 2018 (now 'Eswatini'); older records"),
    "Cape Verde": ("CV", "ISO short name until 2013 (now 'Cabo Verde'); older records"),
    "Libyan Arab Jamahiriya": ("LY", "ISO short name until 2011 (now 'Libya'); older records"),
    "Palestinian Territory, occupied": ("PS", "ISO short name until 2013 (now 'Palestine, State of'); older records"),
    "Former Serbia and Montenegro": (
        None,
        "ISO 3166-1 withdrew CS in 2006 (ISO 3166-3 CSXX); no current code, so the region stays text-only "
        "(legacy XML fixture)",
    ),
}


def _version(path: Path) -> str:
    """The Debian package version of the ISO list, if it came from the system package."""
    if path != DEBIAN:
        return "unknown (file given on the command line)"
    out = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", "iso-codes"], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() or "unknown"


def table(iso: list[dict[str, str]], version: str) -> dict[str, Any]:
    codes = {e["alpha_2"]: e for e in iso}
    countries = []
    seen: dict[str, str] = {}
    for e in sorted(iso, key=lambda e: e["alpha_2"]):
        names = list(dict.fromkeys(e[k] for k in ("name", "common_name", "official_name") if e.get(k)))
        for n in names:
            if seen.setdefault(n.casefold(), e["alpha_2"]) != e["alpha_2"]:
                raise SystemExit(f"name {n!r} names two codes")
        countries.append({"code": e["alpha_2"], "display": e["name"], "names": names})
    ctgov = []
    for name, (code, why) in CTGOV.items():
        if code is not None and code not in codes:
            raise SystemExit(f"{name!r}: {code} is not in the ISO list")
        if seen.get(name.casefold(), code) != code:
            raise SystemExit(f"{name!r} is an ISO name of {seen[name.casefold()]}, not {code}")
        ctgov.append({"name": name, "code": code, "comment": why})
    return {
        "description": "ClinicalTrials.gov country names (LocationCountry, <country>) -> ISO 3166-1 alpha-2, "
        "for ResearchStudy.region (jurisdiction value set) and Location.address.country",
        "system": "urn:iso:std:iso:3166",
        "source": "ISO 3166-1 as published in Debian's iso-codes package "
        f"(https://salsa.debian.org/iso-codes-team/iso-codes, version {version}; the same data as pycountry's "
        "databases/iso3166-1.json): alpha_2, name (the display), common_name and official_name (also matched)",
        "generated_by": "tools/build_iso3166_table.py",
        "ctgov": ctgov,
        "countries": countries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("iso", nargs="?", type=Path, default=DEBIAN)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    iso = json.loads(args.iso.read_text(encoding="utf-8"))["3166-1"]
    out = table(iso, _version(args.iso))
    args.out.write_text(json.dumps(out, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    sys.stdout.write(f"{args.out}: {len(out['countries'])} ISO entries, {len(out['ctgov'])} ct.gov rows\n")


if __name__ == "__main__":
    main()
